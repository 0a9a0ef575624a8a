# notify_webhook: alerts to partners as signed webhooks (included by Makefile.am).
plugin_LTLIBRARIES += plugins/notify_webhook/notify_webhook.la
plugins_notify_webhook_notify_webhook_la_SOURCES = plugins/notify_webhook/webhook.c \
	plugins/notify_webhook/sign.c plugins/notify_webhook/sign.h
plugins_notify_webhook_notify_webhook_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
plugins_notify_webhook_notify_webhook_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
plugins_notify_webhook_notify_webhook_la_LIBADD = $(JANSSON_LIBS) $(SQLITE_LIBS) $(CRYPTO_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += plugins/notify_webhook/tests/test_sign
TESTS += plugins/notify_webhook/tests/test_sign
plugins_notify_webhook_tests_test_sign_SOURCES = plugins/notify_webhook/tests/test_sign.c \
	plugins/notify_webhook/sign.c plugins/notify_webhook/sign.h
plugins_notify_webhook_tests_test_sign_CPPFLAGS = -I$(top_srcdir)/plugins/notify_webhook
plugins_notify_webhook_tests_test_sign_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
plugins_notify_webhook_tests_test_sign_LDADD = $(CMOCKA_LIBS) $(CRYPTO_LIBS)
endif

EXTRA_DIST += plugins/notify_webhook/README.md plugins/notify_webhook/notify_webhook.conf \
	plugins/notify_webhook/tests/conftest.py plugins/notify_webhook/tests/test_webhook.py \
	plugins/notify_webhook/tests/receiver.py plugins/notify_webhook/tests/verify.js
