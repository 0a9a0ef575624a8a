/* validate.c: checks of single values; NULL when good, else the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "validate.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Fails with the value when the check does not answer `want` (NULL: accepted). */
static void
expect(const char *what, const char *value, const char *got, const char *want)
{
	if (want == NULL && got != NULL)
		fail_msg("%s \"%s\": refused (%s), expected accepted", what, value, got);
	if (want != NULL && got == NULL)
		fail_msg("%s \"%s\": accepted, expected \"%s\"", what, value, want);
	if (want != NULL && strcmp(got, want) != 0)
		fail_msg("%s \"%s\": got \"%s\", expected \"%s\"", what, value, got, want);
}

static void
test_validate__siret_with_luhn_key__accepted(void **state)
{
	static const char *const good[] = { "73282932000074", "12345678200010" };

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		expect("siret", good[i], valid_siret(good[i]), NULL);
}

static void
test_validate__siret_bad_luhn_key__rejected(void **state)
{
	static const char *const bad[] = { "73282932000075", "73282932000047", "12345678200011" };

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++)
		expect("siret", bad[i], valid_siret(bad[i]), "fails its Luhn check digit");
}

static void
test_validate__siret_wrong_length_or_not_digits__rejected(void **state)
{
	static const char *const bad[] = { "", "7328293200007", "732829320000740", "7328293200007A",
		"732 829 320 00074", "73282932000o74", "-3282932000074", "７3282932000074" };

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++)
		expect("siret", bad[i], valid_siret(bad[i]), "must be 14 digits");
}

static void
test_validate__siret_la_poste_digit_sum_multiple_of_5__accepted_without_luhn(void **state)
{
	/* Both fail the Luhn key; their digits sum to 15 and 45. */
	static const char *const good[] = { "35600000000001", "35600000049837" };

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		expect("siret", good[i], valid_siret(good[i]), NULL);
}

static void
test_validate__siret_la_poste_digit_sum_not_multiple_of_5__rejected_despite_luhn(void **state)
{
	(void)state;
	/* Passes the Luhn key, but its digits sum to 19. */
	expect("siret", "35600000000014", valid_siret("35600000000014"),
	    "fails the check rule of La Poste's establishments");
	expect("siret", "35600000000002", valid_siret("35600000000002"),
	    "fails the check rule of La Poste's establishments");
}

static void
test_validate__siret_la_poste_head_office__accepted(void **state)
{
	(void)state;
	/* La Poste's head office keeps the Luhn key; its digits sum to 26. */
	expect("siret", "35600000000048", valid_siret("35600000000048"), NULL);
}

static void
test_validate__structure_kind__five_kinds_only(void **state)
{
	static const char *const good[] = { "ACI", "AI", "EI", "ETTI", "EITI" };
	static const char *const bad[] = { "", "aci", "SCOP", "ACI ", "E", "EITIX" };

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		expect("kind", good[i], valid_structure_kind(good[i]), NULL);
	for (size_t i = 0; i < NELEM(bad); i++)
		expect("kind", bad[i], valid_structure_kind(bad[i]),
		    "must be one of ACI, AI, EI, ETTI, EITI");
}

static void
test_validate__annexe_financiere_well_formed__accepted(void **state)
{
	static const struct {
		const char *number, *kind;
	} good[] = {
		{ "ACI023201111A0M0", "ACI" },
		{ "EI02A201111A0M0", "EI" },
		{ "AI02B231234A12M3", "AI" },
		{ "ETTI075241234A1M10", "ETTI" },
		{ "EITI971250001A0M0", "EITI" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		expect("annexe", good[i].number,
		    valid_annexe_financiere(good[i].number, good[i].kind), NULL);
}

static void
test_validate__annexe_financiere_prefix_not_the_kind__rejected(void **state)
{
	static const char want[] = "must start with the structure's kind (e.g. ACI023201111A0M0)";

	(void)state;
	expect(
	    "annexe", "ACI023201111A0M0", valid_annexe_financiere("ACI023201111A0M0", "EI"), want);
	expect(
	    "annexe", "EI02A201111A0M0", valid_annexe_financiere("EI02A201111A0M0", "ACI"), want);
	expect(
	    "annexe", "aci023201111A0M0", valid_annexe_financiere("aci023201111A0M0", "ACI"), want);
	expect("annexe", "", valid_annexe_financiere("", "AI"), want);
	/* EITI starts with EI, but then the département is missing. */
	expect("annexe", "EITI023201111A0M0", valid_annexe_financiere("EITI023201111A0M0", "EI"),
	    "must carry a département code after the kind (e.g. ACI023...)");
}

static void
test_validate__annexe_financiere_malformed__rejected_with_reason(void **state)
{
	static const struct {
		const char *number, *why;
	} bad[] = {
		{ "ACI0232011", "is too short (expected e.g. ACI023201111A0M0)" },
		{ "ACI023201111A0M", "is too short (expected e.g. ACI023201111A0M0)" },
		{ "ACIX23201111A0M0",
		    "must carry a département code after the kind (e.g. ACI023...)" },
		{ "ACI02C201111A0M0",
		    "must carry a département code after the kind (e.g. ACI023...)" },
		{ "ACI0232011X1A0M0",
		    "must carry a year and a 4-digit number after the département" },
		{ "ACI023201111B0M0",
		    "must end with an amendment and modification suffix such as A0M0" },
		{ "ACI023201111A0X0",
		    "must end with an amendment and modification suffix such as A0M0" },
		{ "ACI023201111AM00",
		    "must end with an amendment and modification suffix such as A0M0" },
		{ "ACI023201111A0M0X",
		    "must end with an amendment and modification suffix such as A0M0" },
		{ "ACI023201111A123M0",
		    "must end with an amendment and modification suffix such as A0M0" },
		{ "ACI023201111A0M123",
		    "must end with an amendment and modification suffix such as A0M0" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++)
		expect("annexe", bad[i].number, valid_annexe_financiere(bad[i].number, "ACI"),
		    bad[i].why);
}

static void
test_validate__email__address_accepted_others_rejected(void **state)
{
	static const char *const good[] = { "ops@example.org", "a.b+c@sub.example.fr", "x@y.io" };
	static const struct {
		const char *s, *why;
	} bad[] = {
		{ "", "must be an address like name@example.org" },
		{ "no-at.example.org", "must be an address like name@example.org" },
		{ "@example.org", "must be an address like name@example.org" },
		{ "a@b@example.org", "must be an address like name@example.org" },
		{ "a@example", "must be an address like name@example.org" },
		{ "a@.org", "must be an address like name@example.org" },
		{ "a@example.", "must be an address like name@example.org" },
		{ "a b@example.org", "must not contain spaces or separators" },
		{ "<a@example.org>", "must not contain spaces or separators" },
		{ "a@example.org,b@example.org", "must be an address like name@example.org" },
		{ "a;b@example.org", "must not contain spaces or separators" },
		{ "a\tb@example.org", "must not contain spaces or separators" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		expect("email", good[i], valid_email(good[i]), NULL);
	for (size_t i = 0; i < NELEM(bad); i++)
		expect("email", bad[i].s, valid_email(bad[i].s), bad[i].why);
}

static void
test_validate__email_over_254_characters__rejected(void **state)
{
	char s[300];

	(void)state;
	memset(s, 'a', sizeof(s));
	memcpy(s + 255 - 12, "@example.org", 12);
	s[255] = '\0';
	expect("email", "(255 characters)", valid_email(s), "is longer than 254 characters");
	memmove(s, s + 1, 255); /* 254 characters */
	expect("email", "(254 characters)", valid_email(s), NULL);
}

static void
test_validate__unix_user__posix_portable_names_only(void **state)
{
	static const char *const good[] = { "alice", "_tremplin", "a", "bob-2", "svc_x9",
		"abcdefghijklmnopqrstuvwxyz012345" };
	static const struct {
		const char *s, *why;
	} bad[] = {
		{ "", "must be 1 to 32 characters" },
		{ "abcdefghijklmnopqrstuvwxyz0123456", "must be 1 to 32 characters" },
		{ "Alice", "must start with a lowercase letter or '_'" },
		{ "1alice", "must start with a lowercase letter or '_'" },
		{ "-alice", "must start with a lowercase letter or '_'" },
		{ "élise", "must start with a lowercase letter or '_'" },
		{ "al.ice", "may hold only lowercase letters, digits, '_' and '-'" },
		{ "aLice", "may hold only lowercase letters, digits, '_' and '-'" },
		{ "alice ", "may hold only lowercase letters, digits, '_' and '-'" },
		{ "al/ice", "may hold only lowercase letters, digits, '_' and '-'" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		expect("unix_user", good[i], valid_unix_user(good[i]), NULL);
	for (size_t i = 0; i < NELEM(bad); i++)
		expect("unix_user", bad[i].s, valid_unix_user(bad[i].s), bad[i].why);
}

static void
test_validate__label_empty_or_control_characters__rejected(void **state)
{
	static const char *const ctl[] = { "a\tb", "line\nbreak", "bell\a", "del\x7f", "\x1b[31m" };

	(void)state;
	expect("label", "", valid_label("", 200), "must not be empty");
	for (size_t i = 0; i < NELEM(ctl); i++)
		expect("label", ctl[i], valid_label(ctl[i], 200),
		    "must not contain control characters");
}

static void
test_validate__label_leading_or_trailing_space__rejected(void **state)
{
	(void)state;
	expect("label", " Atelier", valid_label(" Atelier", 200),
	    "must not start or end with a space");
	expect("label", "Atelier ", valid_label("Atelier ", 200),
	    "must not start or end with a space");
	expect("label", " ", valid_label(" ", 200), "must not start or end with a space");
	expect("label", "Atelier du Port", valid_label("Atelier du Port", 200), NULL);
}

static void
test_validate__label_length_counts_utf8_characters_not_bytes(void **state)
{
	char s[2 * 201 + 1];

	(void)state;
	/* 200 "é": 400 bytes but 200 characters. */
	for (int i = 0; i < 200; i++)
		memcpy(s + 2 * i, "é", 2);
	s[400] = '\0';
	expect("label", "(200 x é)", valid_label(s, 200), NULL);
	memcpy(s + 400, "é", 2);
	s[402] = '\0';
	expect("label", "(201 x é)", valid_label(s, 200), "is longer than 200 characters");
	/* A 4-byte character counts once. */
	expect("label", "😀😀😀", valid_label("😀😀😀", 3), NULL);
	expect("label", "😀😀😀😀", valid_label("😀😀😀😀", 3), "is too long");
}

static void
test_validate__label_201_ascii_characters__rejected(void **state)
{
	char s[202];

	(void)state;
	memset(s, 'x', sizeof(s));
	s[200] = '\0';
	expect("label", "(200 x x)", valid_label(s, 200), NULL);
	s[200] = 'x';
	s[201] = '\0';
	expect("label", "(201 x x)", valid_label(s, 200), "is longer than 200 characters");
}

static void
test_validate__text_lines__breaks_and_tabs_allowed_other_controls_rejected(void **state)
{
	static const char *const ctl[] = { "a\rb", "bell\a", "del\x7f", "\x1b[31m", "nul\x01" };

	(void)state;
	expect("text", "two\nlines", valid_text("two\nlines", 2000, VALID_LINES), NULL);
	expect("text", "a\tb", valid_text("a\tb", 2000, VALID_LINES), NULL);
	expect("text", "\n", valid_text("\n", 2000, VALID_LINES), NULL);
	for (size_t i = 0; i < NELEM(ctl); i++)
		expect("text", ctl[i], valid_text(ctl[i], 2000, VALID_LINES),
		    "must not contain control characters");
	/* The same characters in a label: one line only. */
	expect("label", "two\nlines", valid_text("two\nlines", 200, VALID_LINE),
	    "must not contain control characters");
	expect("label", "a\tb", valid_text("a\tb", 200, VALID_LINE),
	    "must not contain control characters");
}

static void
test_validate__text_lines__spaces_anywhere_empty_rejected(void **state)
{
	(void)state;
	expect("text", " indented ", valid_text(" indented ", 2000, VALID_LINES), NULL);
	expect("text", "", valid_text("", 2000, VALID_LINES), "must not be empty");
	expect("label", " Atelier", valid_text(" Atelier", 200, VALID_LINE),
	    "must not start or end with a space");
}

static void
test_validate__text_lines__max_characters_not_bytes(void **state)
{
	char s[2 * 2001 + 1];

	(void)state;
	/* 1999 "é" and a line break: 2000 characters in 3999 bytes. */
	for (int i = 0; i < 1999; i++)
		memcpy(s + 2 * i, "é", 2);
	s[3998] = '\n';
	s[3999] = '\0';
	expect("text", "(2000 characters)", valid_text(s, 2000, VALID_LINES), NULL);
	memcpy(s + 3999, "é", 2);
	s[4001] = '\0';
	expect("text", "(2001 characters)", valid_text(s, 2000, VALID_LINES), "is too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate__siret_with_luhn_key__accepted),
		cmocka_unit_test(test_validate__siret_bad_luhn_key__rejected),
		cmocka_unit_test(test_validate__siret_wrong_length_or_not_digits__rejected),
		cmocka_unit_test(
		    test_validate__siret_la_poste_digit_sum_multiple_of_5__accepted_without_luhn),
		cmocka_unit_test(
		    test_validate__siret_la_poste_digit_sum_not_multiple_of_5__rejected_despite_luhn),
		cmocka_unit_test(test_validate__siret_la_poste_head_office__accepted),
		cmocka_unit_test(test_validate__structure_kind__five_kinds_only),
		cmocka_unit_test(test_validate__annexe_financiere_well_formed__accepted),
		cmocka_unit_test(test_validate__annexe_financiere_prefix_not_the_kind__rejected),
		cmocka_unit_test(test_validate__annexe_financiere_malformed__rejected_with_reason),
		cmocka_unit_test(test_validate__email__address_accepted_others_rejected),
		cmocka_unit_test(test_validate__email_over_254_characters__rejected),
		cmocka_unit_test(test_validate__unix_user__posix_portable_names_only),
		cmocka_unit_test(test_validate__label_empty_or_control_characters__rejected),
		cmocka_unit_test(test_validate__label_leading_or_trailing_space__rejected),
		cmocka_unit_test(test_validate__label_length_counts_utf8_characters_not_bytes),
		cmocka_unit_test(test_validate__label_201_ascii_characters__rejected),
		cmocka_unit_test(
		    test_validate__text_lines__breaks_and_tabs_allowed_other_controls_rejected),
		cmocka_unit_test(test_validate__text_lines__spaces_anywhere_empty_rejected),
		cmocka_unit_test(test_validate__text_lines__max_characters_not_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
