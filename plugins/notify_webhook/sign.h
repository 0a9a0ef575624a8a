/*
 * Standard Webhooks signatures and the retry schedule, as pure functions
 * (tests/test_sign.c checks them against the specification's test vector).
 */
#ifndef NOTIFY_WEBHOOK_SIGN_H
#define NOTIFY_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_KEY_MAX 64
/* "v1," and the base64 of 32 bytes, NUL included. */
#define WEBHOOK_SIG_SIZE 48

/*
 * A "whsec_<base64>" secret into its key: 0, or -1 when it is not one (no
 * prefix, bad base64, fewer than 24 or more than WEBHOOK_KEY_MAX bytes).
 */
int webhook_secret_decode(const char *secret, unsigned char *key, size_t *keylen);
/* "v1,<base64 of HMAC-SHA256(key, id.timestamp.body)>" into out: 0, or -1. */
int webhook_sign(const unsigned char *key, size_t keylen, const char *msg_id, int64_t timestamp,
    const void *body, size_t body_len, char *out, size_t outlen);
/*
 * The delay before attempt n + 1 after n failed ones (n >= 1), with full
 * jitter: uniform in [0, min(cap, base * 2^(n-1))], from a random number.
 */
int64_t webhook_backoff_ms(int failed, uint64_t random, int64_t base_ms, int64_t cap_ms);

#endif
