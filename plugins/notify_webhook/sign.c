#include "sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int
webhook_secret_decode(const char *secret, unsigned char *key, size_t *keylen)
{
	unsigned char buf[3 * (WEBHOOK_KEY_MAX + 4)];
	size_t len, pad = 0;
	int n;

	if (secret == NULL || strncmp(secret, "whsec_", 6) != 0)
		return -1;
	secret += 6;
	len = strlen(secret);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf) ||
	    strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
	        len)
		return -1;
	if (secret[len - 1] == '=')
		pad = secret[len - 2] == '=' ? 2 : 1;
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)secret, (int)len)) < 0)
		return -1;
	n -= (int)pad;
	if (n < 24 || n > WEBHOOK_KEY_MAX)
		return -1;
	memcpy(key, buf, (size_t)n);
	*keylen = (size_t)n;
	return 0;
}

int
webhook_sign(const unsigned char *key, size_t keylen, const char *msg_id, int64_t timestamp,
    const void *body, size_t body_len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *msg;
	unsigned int maclen = 0;
	char head[160];
	int n;

	n = snprintf(head, sizeof(head), "%s.%lld.", msg_id, (long long)timestamp);
	if (n < 0 || (size_t)n >= sizeof(head) || outlen < WEBHOOK_SIG_SIZE ||
	    body_len > SIZE_MAX - (size_t)n)
		return -1;
	/* What is signed: "<id>.<timestamp>.<body>", in one piece for HMAC(). */
	if ((msg = malloc((size_t)n + body_len + 1)) == NULL)
		return -1;
	memcpy(msg, head, (size_t)n);
	if (body_len > 0)
		memcpy(msg + n, body, body_len);
	if (HMAC(EVP_sha256(), key, (int)keylen, msg, (size_t)n + body_len, mac, &maclen) == NULL) {
		free(msg);
		return -1;
	}
	free(msg);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
	return 0;
}

int64_t
webhook_backoff_ms(int failed, uint64_t random, int64_t base_ms, int64_t cap_ms)
{
	int64_t ceiling = base_ms;

	for (int i = 1; i < failed && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	return (int64_t)(random % (uint64_t)(ceiling + 1));
}
