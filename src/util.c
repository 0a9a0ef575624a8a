#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t
tr_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len >= size ? size - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
tr_utf8_char(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)
		return 0; /* a continuation byte, or an overlong 2-byte form */
	if (p[0] < 0xe0)
		len = 2;
	else if (p[0] < 0xf0) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (p[0] < 0xf5) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

size_t
tr_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n <= max)
		return n;
	/* Back over continuation bytes to the start of the character that max splits. */
	i = max;
	while (i > 0 && max - i < 3 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return ((unsigned char)s[i] & 0xc0) == 0x80 ? max : i;
}

void
tr_rfc3339(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		tr_strlcpy(buf, "1970-01-01T00:00:00Z", size);
}

int
tr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	for (const char *p = s; *p; p++)
		if ((*p < '0' || *p > '9') && !(p == s && *p == '-'))
			return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int64_t clock_offset_ms;

void
tr_clock_set_offset(int64_t ms)
{
	clock_offset_ms = ms;
}

int64_t
tr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset_ms;
}

time_t
tr_now(void)
{
	return (time_t)(tr_now_ms() / 1000);
}
