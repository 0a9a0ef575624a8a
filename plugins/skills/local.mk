# The skills plugin (issue 12): included by the last line of Makefile.am.
plugin_LTLIBRARIES += plugins/skills/skills.la
plugins_skills_skills_la_SOURCES = plugins/skills/skills.c \
	plugins/skills/rules.c plugins/skills/rules.h \
	plugins/skills/migrations.c plugins/skills/migrations.h \
	plugins/skills/attestation.c plugins/skills/attestation.h \
	plugins/skills/badges.c plugins/skills/badges.h \
	plugins/skills/rome.c plugins/skills/rome.h
# cairo and pango (the attestation's PDF) are linked into this plugin alone.
plugins_skills_skills_la_CFLAGS = $(AM_CFLAGS) $(PANGOCAIRO_CFLAGS)
plugins_skills_skills_la_LDFLAGS = -module -avoid-version -shared $(AM_LDFLAGS)
plugins_skills_skills_la_LIBADD = $(JANSSON_LIBS) $(SQLITE_LIBS) $(CRYPTO_LIBS) $(PANGOCAIRO_LIBS)

# The shipped referentials, loaded on demand (POST /v1/skills/referentials/load,
# tremplinctl skills load NAME).
skillsrefdir = $(sysconfdir)/tremplin/skills
skillsref_DATA = etc/skills/savoir_etre.json etc/skills/espaces_verts.json \
	etc/skills/rncp39794.json

EXTRA_DIST += $(skillsref_DATA) plugins/skills/README.md plugins/skills/skills.conf \
	plugins/skills/tests/conftest.py plugins/skills/tests/test_skills.py \
	plugins/skills/tests/verify_badge.js

if HAVE_CMOCKA
UNIT_TESTS += plugins/skills/tests/test_rules
plugins_skills_tests_test_rules_SOURCES = plugins/skills/tests/test_rules.c \
	plugins/skills/rules.c plugins/skills/rules.h
plugins_skills_tests_test_rules_CPPFLAGS = -I$(top_srcdir)/plugins/skills
plugins_skills_tests_test_rules_CFLAGS = $(UNIT_CFLAGS)
plugins_skills_tests_test_rules_LDADD = $(CMOCKA_LIBS)
UNIT_TESTS += plugins/skills/tests/test_rome
plugins_skills_tests_test_rome_SOURCES = plugins/skills/tests/test_rome.c \
	plugins/skills/rome.c plugins/skills/rome.h
plugins_skills_tests_test_rome_CPPFLAGS = -I$(top_srcdir)/plugins/skills
plugins_skills_tests_test_rome_CFLAGS = $(UNIT_CFLAGS)
plugins_skills_tests_test_rome_LDADD = $(CMOCKA_LIBS) $(JANSSON_LIBS)
endif

# tremplinctl skills
tremplinctl_SOURCES += src/ctl/cmd_skills.c
luarules_DATA += lua/rules/skills_stale.lua

# The demo workshop's skills (tremplinctl demo), with the plugin's own migrations.
libctldemo_a_SOURCES += src/ctl/demo_skills.c plugins/skills/migrations.c
