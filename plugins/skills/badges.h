/*
 * Open Badges 3.0: the structure's Ed25519 key (made by `tremplinctl skills
 * keygen`), its public key as a JWK, and OpenBadgeCredentials signed as
 * VC-JWT (EdDSA) with libcrypto.
 */
#ifndef SKILLS_BADGES_H
#define SKILLS_BADGES_H

#include <stddef.h>

#include <jansson.h>

struct badge_key;

/* Load an Ed25519 private key from a PEM file: NULL with err naming why. */
struct badge_key *badge_key_load(const char *path, char *err, size_t errlen);
void badge_key_free(struct badge_key *);

/* The public key as a JWK {kty, crv, x, kid, use, alg} (a new reference). */
json_t *badge_jwk(const struct badge_key *);

/* The JWS compact serialisation of payload (header alg EdDSA, typ JWT, kid): new string. */
char *badge_sign(const struct badge_key *, const json_t *payload);

/* A new random urn:uuid:... (version 4) in buf (at least 46 bytes): 0, or -1. */
int badge_uuid(char *buf, size_t size);

/* "sha256$<hex>" of text followed by salt, in buf (at least 72 bytes); a new salt in saltbuf. */
int badge_identity_hash(const char *text, char *salt, size_t saltlen, char *buf, size_t size);

#endif
