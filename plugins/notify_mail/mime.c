#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Length of the UTF-8 character at s (1..4), or 0 when invalid or a control character. */
static size_t
utf8_char(const unsigned char *s)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	size_t n = (s[0] & 0xe0) == 0xc0 ? 2
	    : (s[0] & 0xf0) == 0xe0      ? 3
	    : (s[0] & 0xf8) == 0xf0      ? 4
	                                 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

int
mime_encode_header(const char *text, char *out, size_t size)
{
	/* 75 - strlen("=?UTF-8?B??=") = 63: 60 base64 characters, 45 bytes a word. */
	const unsigned char *s = (const unsigned char *)text;
	size_t at = 0, len = strlen(text), i = 0;

	if (size == 0)
		return -1;
	out[0] = '\0';
	while (i < len) {
		size_t start = i, n;
		unsigned char b64[64];
		while (i < len) {
			if ((n = utf8_char(s + i)) == 0)
				return -1;
			if (i + n - start > 45)
				break;
			i += n;
		}
		int k = EVP_EncodeBlock(b64, s + start, (int)(i - start));
		int w = snprintf(out + at, size - at, "%s=?UTF-8?B?%.*s?=", start ? "\r\n " : "", k,
		    (const char *)b64);
		if (w < 0 || (size_t)w >= size - at)
			return -1;
		at += (size_t)w;
	}
	return 0;
}

int
mime_message_id(int64_t alert_id, int64_t staff_id, const char *domain, char *out, size_t size)
{
	int n = snprintf(out, size, "<tremplin.alert.%lld.%lld@%s>", (long long)alert_id,
	    (long long)staff_id, domain);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
plain_address(const char *a)
{
	return a != NULL && *a != '\0' && strpbrk(a, "\r\n<>\"") == NULL && strchr(a, '@') != NULL;
}

char *
mime_message(const char *from_name, const char *from, const char *to, const char *subject,
    const char *body, const char *message_id, time_t date)
{
	char subj[2048], name[512], stamp[64];
	struct tm tm;
	size_t blen = strlen(body), cap;
	char *out, *b64;
	int n;

	if (!plain_address(from) || !plain_address(to) || strpbrk(message_id, "\r\n") != NULL ||
	    mime_encode_header(subject, subj, sizeof(subj)) == -1 ||
	    mime_encode_header(from_name, name, sizeof(name)) == -1 || blen > 1 << 20)
		return NULL;
	gmtime_r(&date, &tm);
	strftime(stamp, sizeof(stamp), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if ((b64 = malloc(4 * (blen / 3 + 1) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)body, (int)blen);
	size_t b64len = strlen(b64);
	cap = 1024 + strlen(subj) + strlen(name) + strlen(from) + strlen(to) + strlen(message_id) +
	    b64len + 2 * (b64len / 76 + 1);
	if ((out = malloc(cap)) == NULL) {
		free(b64);
		return NULL;
	}
	n = snprintf(out, cap,
	    "From: %s <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n",
	    name, from, to, subj, stamp, message_id);
	if (n < 0 || (size_t)n >= cap) {
		free(b64);
		free(out);
		return NULL;
	}
	/* Base64 lines of 76 characters. */
	size_t at = (size_t)n;
	for (size_t i = 0; i < b64len; i += 76) {
		size_t k = b64len - i < 76 ? b64len - i : 76;
		memcpy(out + at, b64 + i, k);
		at += k;
		out[at++] = '\r';
		out[at++] = '\n';
	}
	out[at] = '\0';
	free(b64);
	return out;
}
