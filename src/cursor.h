/* List cursors: opaque tokens for the last id of a page, so clients do not build them. */
#ifndef TREMPLIN_CURSOR_H
#define TREMPLIN_CURSOR_H

#include <stddef.h>
#include <stdint.h>

/* Longest token, with its NUL. */
#define CURSOR_SIZE 16

/* base64url of id (> 0) without padding: 11 characters. */
void cursor_encode(int64_t id, char *buf, size_t size);
/* The id a token of cursor_encode holds; -1 for anything else. */
int cursor_decode(const char *s, int64_t *id);

#endif
