# notify_mail: alerts to staff by e-mail (included by Makefile.am).
plugin_LTLIBRARIES += plugins/notify_mail/notify_mail.la
plugins_notify_mail_notify_mail_la_SOURCES = plugins/notify_mail/mail.c \
	plugins/notify_mail/mime.c plugins/notify_mail/mime.h
plugins_notify_mail_notify_mail_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DNOTIFY_MAIL_TEMPLATES='"$(sysconfdir)/tremplin/notify_mail"'
plugins_notify_mail_notify_mail_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
plugins_notify_mail_notify_mail_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
plugins_notify_mail_notify_mail_la_LIBADD = $(JANSSON_LIBS) $(SQLITE_LIBS) $(CURL_LIBS) \
	$(CRYPTO_LIBS)

notify_mail_templatesdir = $(sysconfdir)/tremplin/notify_mail
dist_notify_mail_templates_DATA = etc/notify_mail/default.txt etc/notify_mail/contract_ending.txt \
	etc/notify_mail/pass_ending.txt etc/notify_mail/review_overdue.txt \
	etc/notify_mail/safety_incident.txt etc/notify_mail/hours_below_contract.txt \
	etc/notify_mail/registry_pass_end_changed.txt etc/notify_mail/absences_unjustified.txt \
	etc/notify_mail/skills_stale.txt etc/notify_mail/digest.txt

if HAVE_CMOCKA
check_PROGRAMS += plugins/notify_mail/tests/test_mime
TESTS += plugins/notify_mail/tests/test_mime
plugins_notify_mail_tests_test_mime_SOURCES = plugins/notify_mail/tests/test_mime.c \
	plugins/notify_mail/mime.c plugins/notify_mail/mime.h
plugins_notify_mail_tests_test_mime_CPPFLAGS = -I$(top_srcdir)/plugins/notify_mail
plugins_notify_mail_tests_test_mime_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
plugins_notify_mail_tests_test_mime_LDADD = $(CMOCKA_LIBS) $(CRYPTO_LIBS)
endif

EXTRA_DIST += plugins/notify_mail/README.md plugins/notify_mail/tests/conftest.py \
	plugins/notify_mail/tests/test_mail.py
