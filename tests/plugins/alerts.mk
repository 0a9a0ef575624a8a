# The alert rules' test double of the production plugin (included by Makefile.am).
check_LTLIBRARIES += tests/plugins/fakeproduction.la
tests_plugins_fakeproduction_la_SOURCES = tests/plugins/fakeproduction.c
tests_plugins_fakeproduction_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_fakeproduction_la_LIBADD = $(TEST_PLUGIN_LIBADD)
EXTRA_DIST += tests/plugins/alerts.mk
