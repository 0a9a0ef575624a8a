/* List cursors: cursor_decode on any token, and the round trip of every id. */
#include "fuzz.h"

#include "cursor.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), buf[CURSOR_SIZE];
	int64_t id, back;

	if (cursor_decode(s, &id) == 0) {
		/* Only tokens the API gives are taken: one token per id. */
		FUZZ_CHECK(id > 0);
		cursor_encode(id, buf, sizeof(buf));
		FUZZ_CHECK(strcmp(buf, s) == 0);
	}
	free(s);

	if (size >= 8) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | data[i];
		id = (int64_t)(v & INT64_MAX);
		if (id > 0) {
			cursor_encode(id, buf, sizeof(buf));
			FUZZ_CHECK(strlen(buf) == 11);
			FUZZ_CHECK(cursor_decode(buf, &back) == 0);
			FUZZ_CHECK(back == id);
		}
	}
	return 0;
}
