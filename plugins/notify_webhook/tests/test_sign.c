/* The signature on the Standard Webhooks specification's test vector, and the backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sign.h"

static void
spec_vector(void **state)
{
	static const char body[] = "{\"test\": 2432232314}";
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t keylen;
	char sig[WEBHOOK_SIG_SIZE];

	(void)state;
	assert_int_equal(
	    webhook_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &keylen), 0);
	assert_int_equal(keylen, 24);
	assert_int_equal(webhook_sign(key, keylen, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
	                     strlen(body), sig, sizeof(sig)),
	    0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* One byte of the body changed: another signature. */
	assert_int_equal(webhook_sign(key, keylen, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
	                     "{\"test\": 2432232315}", strlen(body), sig, sizeof(sig)),
	    0);
	assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void
bad_secrets(void **state)
{
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t keylen;

	(void)state;
	assert_int_equal(
	    webhook_secret_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &keylen), -1);
	assert_int_equal(webhook_secret_decode("whsec_", key, &keylen), -1);
	assert_int_equal(webhook_secret_decode("whsec_c2hvcnQ=", key, &keylen), -1); /* 5 bytes */
	assert_int_equal(
	    webhook_secret_decode("whsec_MfKQ9r8GKYqr!wjUPD8ILPZIo2LaLaSw", key, &keylen), -1);
	assert_int_equal(webhook_sign(key, 24, "m", 1, "", 0, (char[8]){ 0 }, 8), -1);
}

static void
backoff_full_jitter(void **state)
{
	(void)state;
	/* The ceiling doubles from the base up to the cap; the draw is below it. */
	assert_int_equal(webhook_backoff_ms(1, UINT64_MAX, 1000, 3600000), UINT64_MAX % 1001);
	assert_int_equal(webhook_backoff_ms(1, 1000, 1000, 3600000), 1000);
	assert_int_equal(webhook_backoff_ms(3, 4000, 1000, 3600000), 4000);
	assert_int_equal(webhook_backoff_ms(3, 4001, 1000, 3600000), 0);
	assert_int_equal(webhook_backoff_ms(40, 3600000, 1000, 3600000), 3600000);
	assert_int_equal(webhook_backoff_ms(40, 3600001, 1000, 3600000), 0);
	assert_int_equal(webhook_backoff_ms(2, 0, 1000, 3600000), 0);
	for (uint64_t r = 0; r < 5000; r += 7)
		assert_true(webhook_backoff_ms(5, r * 7919, 1000, 3600000) <= 16000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spec_vector),
		cmocka_unit_test(bad_secrets),
		cmocka_unit_test(backoff_full_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
