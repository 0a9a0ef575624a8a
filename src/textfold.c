#include "textfold.h"

#include <string.h>

/*
 * The letters of Latin-1 (U+00C0..U+00FF) and Latin Extended-A
 * (U+0100..U+017F) without their accents: what French, and the names of
 * the people a workshop hires, use. Others are kept as they are.
 */
static const char latin1[] = "aaaaaaaceeeeiiiidnooooo*ouuuuyts"
                             "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
static const char latin_a[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllll"
                              "lllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

static size_t
put(char *out, size_t o, size_t size, const char *s, size_t n)
{
	if (o + n >= size)
		return o;
	memcpy(out + o, s, n);
	return o + n;
}

void
text_fold(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (size == 0)
		return;
	while (*p != '\0' && o + 1 < size) {
		char c;
		if (*p < 0x80) {
			c = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			o = put(out, o, size, &c, 1);
			p++;
			continue;
		}
		/* A two-byte sequence: U+0080..U+07FF. */
		if ((*p & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
			unsigned cp = ((unsigned)(*p & 0x1f) << 6) | (p[1] & 0x3f);
			if (cp == 0xc6 || cp == 0xe6)
				o = put(out, o, size, "ae", 2);
			else if (cp == 0x152 || cp == 0x153)
				o = put(out, o, size, "oe", 2);
			else if (cp == 0xdf)
				o = put(out, o, size, "ss", 2);
			else if (cp >= 0xc0 && cp <= 0xff)
				o = put(out, o, size, &latin1[cp - 0xc0], 1);
			else if (cp >= 0x100 && cp <= 0x17f)
				o = put(out, o, size, &latin_a[cp - 0x100], 1);
			else
				o = put(out, o, size, (const char *)p, 2);
			p += 2;
			continue;
		}
		/* Anything else is copied whole, a byte at a time up to the next lead byte. */
		size_t n = 1;
		while (p[n] != '\0' && (p[n] & 0xc0) == 0x80 && n < 4)
			n++;
		size_t before = o;
		o = put(out, o, size, (const char *)p, n);
		if (o == before)
			break;
		p += n;
	}
	out[o] = '\0';
}

int
text_fold_match(const char *ft, const char *fq)
{
	char word[128];

	while (*fq != '\0') {
		size_t n = strcspn(fq, " ");
		if (n > 0) {
			if (n >= sizeof(word))
				n = sizeof(word) - 1;
			memcpy(word, fq, n);
			word[n] = '\0';
			if (strstr(ft, word) == NULL)
				return 0;
		}
		fq += strcspn(fq, " ");
		fq += strspn(fq, " ");
	}
	return 1;
}
