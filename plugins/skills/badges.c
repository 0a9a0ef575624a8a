/* Open Badges 3.0 signing: see badges.h. */
#include "badges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

struct badge_key {
	EVP_PKEY *pkey;
	char x[64]; /* the public key, base64url */
	char kid[64]; /* its RFC 7638 thumbprint */
};

/* base64url without padding (RFC 7515) of n bytes into out (size at least 4n/3 + 4). */
static int
b64url(const unsigned char *in, size_t n, char *out, size_t size)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	int len;

	if (need > size || n > 0x3fffffff)
		return -1;
	len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return len;
}

static char *
b64url_new(const unsigned char *in, size_t n)
{
	size_t size = 4 * ((n + 2) / 3) + 1;
	char *out = malloc(size);

	if (out != NULL && b64url(in, n, out, size) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

struct badge_key *
badge_key_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct badge_key *k;
	unsigned char raw[32], digest[32];
	size_t rawlen = sizeof(raw);
	unsigned int dlen = 0;
	char thumb[128];

	if (f == NULL) {
		snprintf(
		    err, errlen, "cannot read %s (make it with tremplinctl skills keygen)", path);
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k->pkey == NULL || EVP_PKEY_id(k->pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 || rawlen != 32 ||
	    b64url(raw, rawlen, k->x, sizeof(k->x)) < 0) {
		snprintf(err, errlen, "%s is not an Ed25519 private key in PEM", path);
		badge_key_free(k);
		return NULL;
	}
	/* RFC 7638: the members in lexicographic order, no spaces. */
	snprintf(thumb, sizeof(thumb), "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", k->x);
	if (EVP_Digest(thumb, strlen(thumb), digest, &dlen, EVP_sha256(), NULL) != 1 ||
	    b64url(digest, dlen, k->kid, sizeof(k->kid)) < 0) {
		snprintf(err, errlen, "cannot digest the public key");
		badge_key_free(k);
		return NULL;
	}
	return k;
}

void
badge_key_free(struct badge_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

json_t *
badge_jwk(const struct badge_key *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
	    k->x, "kid", k->kid, "use", "sig", "alg", "EdDSA");
}

char *
badge_sign(const struct badge_key *k, const json_t *payload)
{
	json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid", k->kid);
	char *h = json_dumps(header, JSON_COMPACT), *p = json_dumps(payload, JSON_COMPACT);
	char *hb = h ? b64url_new((unsigned char *)h, strlen(h)) : NULL;
	char *pb = p ? b64url_new((unsigned char *)p, strlen(p)) : NULL;
	char *input = NULL, *sb = NULL, *out = NULL;
	unsigned char sig[64];
	size_t siglen = sizeof(sig), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	json_decref(header);
	if (hb == NULL || pb == NULL || ctx == NULL)
		goto done;
	n = strlen(hb) + 1 + strlen(pb);
	if ((input = malloc(n + 1)) == NULL)
		goto done;
	snprintf(input, n + 1, "%s.%s", hb, pb);
	/* Ed25519 signs the message itself: no digest. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input, n) != 1)
		goto done;
	if ((sb = b64url_new(sig, siglen)) == NULL)
		goto done;
	if ((out = malloc(n + 1 + strlen(sb) + 1)) != NULL)
		snprintf(out, n + 1 + strlen(sb) + 1, "%s.%s", input, sb);
done:
	EVP_MD_CTX_free(ctx);
	free(h);
	free(p);
	free(hb);
	free(pb);
	free(input);
	free(sb);
	return out;
}

int
badge_uuid(char *buf, size_t size)
{
	unsigned char u[16];

	if (size < 46 || RAND_bytes(u, sizeof(u)) != 1)
		return -1;
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(buf, size,
	    "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
	    u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
	    u[15]);
	return 0;
}

int
badge_identity_hash(const char *text, char *salt, size_t saltlen, char *buf, size_t size)
{
	unsigned char s[12], d[32];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (saltlen < 2 * sizeof(s) + 1 || size < 7 + 64 + 1 || ctx == NULL ||
	    RAND_bytes(s, sizeof(s)) != 1) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	for (size_t i = 0; i < sizeof(s); i++)
		snprintf(salt + 2 * i, 3, "%02x", s[i]);
	/* OB 3.0 IdentityObject: the hash of the identity followed by the salt. */
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
	    EVP_DigestUpdate(ctx, salt, strlen(salt)) == 1 &&
	    EVP_DigestFinal_ex(ctx, d, &dlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(buf, "sha256$", 8);
	for (unsigned int i = 0; i < dlen; i++)
		snprintf(buf + 7 + 2 * i, 3, "%02x", d[i]);
	return 0;
}
