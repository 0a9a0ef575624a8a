#include "cursor.h"

#include <string.h>

#include <openssl/evp.h>

#include "util.h"

void
cursor_encode(int64_t id, char *buf, size_t size)
{
	unsigned char raw[8], b64[16];

	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
	int n = EVP_EncodeBlock(b64, raw, 8);
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	tr_strlcpy(buf, (const char *)b64, size);
}

int
cursor_decode(const char *s, int64_t *id)
{
	unsigned char in[16], raw[16];
	size_t n = strlen(s);
	uint64_t v = 0;

	if (n != 11)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_'))
			return -1;
		in[i] = c == '-' ? '+' : c == '_' ? '/' : (unsigned char)c;
	}
	in[11] = '=';
	in[12] = '\0';
	if (EVP_DecodeBlock(raw, in, 12) != 9)
		return -1;
	/*
	 * 11 characters carry 66 bits: the last two must be zero, or four
	 * tokens would stand for each id, three of which the API never gave.
	 */
	if (raw[8] != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | raw[i];
	if (v == 0 || v > INT64_MAX)
		return -1;
	*id = (int64_t)v;
	return 0;
}
