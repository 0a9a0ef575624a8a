# The production plugin (plugins/production/README.md), included from Makefile.am.
plugin_LTLIBRARIES += plugins/production/production.la
plugins_production_production_la_SOURCES = plugins/production/production.c \
	plugins/production/rules.c plugins/production/rules.h \
	plugins/production/migrations.c plugins/production/migrations.h
plugins_production_production_la_CFLAGS = $(AM_CFLAGS)
plugins_production_production_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
plugins_production_production_la_LIBADD = $(JANSSON_LIBS) $(SQLITE_LIBS)
EXTRA_DIST += plugins/production/README.md plugins/production/production.conf \
	plugins/production/tests/conftest.py plugins/production/tests/test_production.py \
	plugins/production/tests/test_absences_rule.py plugins/production/tests/test_views.py \
	plugins/production/tests/test_demo_month.py plugins/production/tests/test_with_skills.py \
	plugins/production/tests/test_hours.py
if HAVE_CMOCKA
check_PROGRAMS += plugins/production/tests/test_rules
TESTS += plugins/production/tests/test_rules
plugins_production_tests_test_rules_SOURCES = plugins/production/tests/test_rules.c \
	plugins/production/rules.c plugins/production/rules.h
plugins_production_tests_test_rules_CPPFLAGS = -I$(top_srcdir)/plugins/production
plugins_production_tests_test_rules_CFLAGS = $(UNIT_CFLAGS)
plugins_production_tests_test_rules_LDADD = $(CMOCKA_LIBS)
endif
luarules_DATA += lua/rules/absences_unjustified.lua
EXTRA_DIST += lua/rules/absences_unjustified.lua
tremplinctl_SOURCES += src/ctl/cmd_production.c
libctldemo_a_SOURCES += src/ctl/demo_production.c plugins/production/migrations.c
