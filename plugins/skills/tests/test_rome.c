/* The ROME 4.0 CSV layout (rome.c), without a daemon: parsing, its refusals, the round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rome.h"

#define HEADER                                                                                     \
	"code_domaine_competence,libelle_domaine_competence,code_enjeu,libelle_enjeu,"             \
	"code_objectif,libelle_objectif,code_macro_competence,libelle_macro_competence,"           \
	"code_ogr_macro_competence,code_competence,code_ogr_competence,libelle_competence\r\n"

static json_t *
parse(const char *text, char *why, size_t n)
{
	return rome_parse(text, strlen(text), why, n);
}

static void
test_parse__quotes_commas_and_domains_grouped(void **state)
{
	char why[200] = "";
	json_t *b =
	    parse(HEADER "1,Produire,11,E,111,O,1111,M,300,C1,124533,\"Tailler, \"\"net\"\"\"\r\n"
	                 "2,Sécurité,21,E,211,O,2111,M,301,C2,124600,Porter les EPI\n"
	                 "1,Produire,11,E,111,O,1111,M,300,C3,124534,Tondre\r\n",
	        why, sizeof(why));

	(void)state;
	assert_non_null(b);
	assert_int_equal(json_array_size(b), 2);
	json_t *c = json_object_get(json_array_get(b, 0), "competences");
	assert_int_equal(json_array_size(c), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(c, 0), "title")), "Tailler, \"net\"");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(c, 1), "external_code")), "124534");
	assert_int_equal(json_array_size(json_object_get(json_array_get(c, 0), "hierarchy")), 8);
	json_decref(b);
}

static void
test_parse__semicolons_and_a_bom(void **state)
{
	char why[200] = "", text[1024];
	json_t *b;

	(void)state;
	snprintf(text, sizeof(text), "\xef\xbb\xbf%s", HEADER "1;D;;;;;;;;;9;Titre\r\n");
	for (char *p = text; *p; p++)
		if (*p == ',')
			*p = ';';
	b = parse(text, why, sizeof(why));
	assert_non_null(b);
	/* No level between the domain and the competence: no hierarchy kept. */
	assert_null(json_object_get(
	    json_array_get(json_object_get(json_array_get(b, 0), "competences"), 0), "hierarchy"));
	json_decref(b);
}

static void
test_parse__refusals_name_the_line(void **state)
{
	char why[200];

	(void)state;
	assert_null(parse("code,libelle\r\n", why, sizeof(why)));
	assert_non_null(strstr(why, "line 1"));
	assert_null(parse(HEADER "1,D,,,,,,,,,9\r\n", why, sizeof(why)));
	assert_non_null(strstr(why, "line 2"));
	assert_null(parse(HEADER "1,D,,,,,,,,,9,T\r\n1,D,,,,,,,,,,T\r\n", why, sizeof(why)));
	assert_non_null(strstr(why, "line 3"));
	assert_null(parse(HEADER "1,\"D,,,,,,,,,9,T\r\n", why, sizeof(why)));
	assert_non_null(strstr(why, "line 2"));
}

static void
test_write__read_back_the_same(void **state)
{
	char why[200];
	const char *in =
	    HEADER "1,Produire,11,E,111,O,1111,M,300,C1,124533,\"Tailler, \"\"net\"\"\"\r\n";
	json_t *b = parse(in, why, sizeof(why)), *again;
	size_t len = 0;
	char *out;

	(void)state;
	assert_non_null(b);
	out = rome_write(b, &len);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	again = rome_parse(out, len, why, sizeof(why));
	assert_non_null(again);
	assert_true(json_equal(b, again));
	json_decref(b);
	json_decref(again);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse__quotes_commas_and_domains_grouped),
		cmocka_unit_test(test_parse__semicolons_and_a_bom),
		cmocka_unit_test(test_parse__refusals_name_the_line),
		cmocka_unit_test(test_write__read_back_the_same),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
