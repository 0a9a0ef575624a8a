#include "validate.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

static const char *const structure_kinds[] = { "ACI", "AI", "EI", "ETTI", "EITI" };

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

const char *
valid_siret(const char *s)
{
	int sum = 0;

	if (strlen(s) != 14 || !all_digits(s, 14))
		return "must be 14 digits";
	/*
	 * La Poste's establishments share SIREN 356000000 and are numbered past
	 * what the Luhn key allows; INSEE checks that their digits sum to a
	 * multiple of 5 instead. Its head office, 35600000000048, keeps the Luhn key.
	 */
	if (strncmp(s, "356000000", 9) == 0 && strcmp(s, "35600000000048") != 0) {
		for (int i = 0; i < 14; i++)
			sum += s[i] - '0';
		return sum % 5 == 0 ? NULL : "fails the check rule of La Poste's establishments";
	}
	for (int i = 0; i < 14; i++) {
		int d = s[13 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0 ? NULL : "fails its Luhn check digit";
}

const char *
valid_structure_kind(const char *s)
{
	for (size_t i = 0; i < TR_NELEM(structure_kinds); i++)
		if (strcmp(s, structure_kinds[i]) == 0)
			return NULL;
	return "must be one of ACI, AI, EI, ETTI, EITI";
}

const char *
valid_annexe_financiere(const char *s, const char *kind)
{
	size_t k = strlen(kind), n = strlen(s), i;

	/* kind, département (3: 075, 02A), year (2), number (4), A<n>M<n> */
	if (n < k || strncmp(s, kind, k) != 0)
		return "must start with the structure's kind (e.g. ACI023201111A0M0)";
	i = k;
	if (n < i + 9 + 4)
		return "is too short (expected e.g. ACI023201111A0M0)";
	if (!isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]) ||
	    !(isdigit((unsigned char)s[i + 2]) || s[i + 2] == 'A' || s[i + 2] == 'B'))
		return "must carry a département code after the kind (e.g. ACI023...)";
	i += 3;
	if (!all_digits(s + i, 6))
		return "must carry a year and a 4-digit number after the département";
	i += 6;
	if (s[i] != 'A')
		return "must end with an amendment and modification suffix such as A0M0";
	i++;
	size_t d = 0;
	while (i < n && isdigit((unsigned char)s[i]) && d < 2)
		i++, d++;
	if (d == 0 || i >= n || s[i] != 'M')
		return "must end with an amendment and modification suffix such as A0M0";
	i++;
	d = 0;
	while (i < n && isdigit((unsigned char)s[i]) && d < 2)
		i++, d++;
	if (d == 0 || i != n)
		return "must end with an amendment and modification suffix such as A0M0";
	return NULL;
}

const char *
valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (n > 254)
		return "is longer than 254 characters";
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return "must be an address like name@example.org";
	const char *dot = strrchr(at + 1, '.');
	if (dot == NULL || dot == at + 1 || dot[1] == '\0')
		return "must be an address like name@example.org";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == ';')
			return "must not contain spaces or separators";
	return NULL;
}

const char *
valid_unix_user(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return "must be 1 to 32 characters";
	if (!(islower((unsigned char)s[0]) || s[0] == '_'))
		return "must start with a lowercase letter or '_'";
	for (size_t i = 1; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
		        s[i] == '-'))
			return "may hold only lowercase letters, digits, '_' and '-'";
	return NULL;
}

const char *
valid_text(const char *s, int max, enum valid_text_kind kind)
{
	int chars = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int allowed = kind == VALID_LINES && (*p == '\n' || *p == '\t');
		if ((*p < 0x20 && !allowed) || *p == 0x7f)
			return "must not contain control characters";
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	if (chars == 0)
		return "must not be empty";
	if (chars > max)
		return max == 200 ? "is longer than 200 characters" : "is too long";
	/* Surrounding blanks on a label are almost always a copy-paste slip. */
	if (kind == VALID_LINE && (s[0] == ' ' || s[strlen(s) - 1] == ' '))
		return "must not start or end with a space";
	return NULL;
}

const char *
valid_label(const char *s, int max)
{
	return valid_text(s, max, VALID_LINE);
}
