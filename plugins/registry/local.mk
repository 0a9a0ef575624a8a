# The registry sync plugin (les emplois de l'inclusion): included by the last
# line of Makefile.am.
plugin_LTLIBRARIES += plugins/registry/registry.la
plugins_registry_registry_la_SOURCES = plugins/registry/registry.c \
	plugins/registry/sync.c plugins/registry/sync.h \
	plugins/registry/ft.c plugins/registry/ft.h \
	plugins/registry/migrations.c plugins/registry/migrations.h
plugins_registry_registry_la_CFLAGS = $(AM_CFLAGS)
plugins_registry_registry_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
plugins_registry_registry_la_LIBADD = $(JANSSON_LIBS) $(SQLITE_LIBS)
EXTRA_DIST += plugins/registry/README.md plugins/registry/registry.conf \
	plugins/registry/tests/conftest.py plugins/registry/tests/fake_emplois.py \
	plugins/registry/tests/fake_france_travail.py \
	plugins/registry/tests/test_registry.py
if HAVE_CMOCKA
UNIT_TESTS += plugins/registry/tests/test_sync
plugins_registry_tests_test_sync_SOURCES = plugins/registry/tests/test_sync.c \
	plugins/registry/sync.c plugins/registry/sync.h
plugins_registry_tests_test_sync_CPPFLAGS = -I$(top_srcdir)/plugins/registry
plugins_registry_tests_test_sync_CFLAGS = $(UNIT_CFLAGS)
plugins_registry_tests_test_sync_LDADD = $(CMOCKA_LIBS)
endif
tremplinctl_SOURCES += src/ctl/cmd_registry.c
