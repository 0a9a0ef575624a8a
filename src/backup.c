#include "backup.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"

/* A recipient file is a certificate or a few: anything larger is not one. */
#define RECIPIENT_MAX_BYTES (1 << 20)

/* The flags of every encryption: bytes as they are, streamed. */
#define CMS_FLAGS (CMS_BINARY | CMS_STREAM)

/*
 * AES-256-CBC rather than GCM (AuthEnvelopedData): every CMS implementation
 * reads it, OpenSSL 1.1 and LibreSSL included, and a restore must not depend
 * on the version of a tool on someone else's machine. The restored database's
 * integrity is checked by SQLite (PRAGMA integrity_check).
 */
static const EVP_CIPHER *
backup_cipher(void)
{
	return EVP_aes_256_cbc();
}

/* The last OpenSSL error as text (the queue is cleared). */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Whether the key of x can carry a content key: RSA transport or EC agreement. */
static int
usable(X509 *x, char *why, size_t whylen)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	uint32_t ku;
	int id;

	if (pk == NULL) {
		snprintf(why, whylen, "its public key cannot be read");
		return 0;
	}
	ku = X509_get_key_usage(x); /* UINT32_MAX: no keyUsage extension, any use */
	id = EVP_PKEY_base_id(pk);
	if (id == EVP_PKEY_RSA) {
		if (!(ku & KU_KEY_ENCIPHERMENT)) {
			snprintf(why, whylen,
			    "its key usage does not allow keyEncipherment (an RSA recipient needs "
			    "it)");
			return 0;
		}
	} else if (id == EVP_PKEY_EC) {
		if (!(ku & KU_KEY_AGREEMENT)) {
			snprintf(why, whylen,
			    "its key usage does not allow keyAgreement (an EC recipient needs it)");
			return 0;
		}
	} else {
		const char *name = OBJ_nid2sn(id);
		snprintf(why, whylen, "its key is %s; a backup recipient needs an RSA or EC key",
		    name ? name : "of an unknown type");
		return 0;
	}
	return 1;
}

/* Encrypt a few bytes to x alone: what the key usage does not tell. */
static int
trial(X509 *x, char *why, size_t whylen)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf("tremplin", 8);
	CMS_ContentInfo *cms = NULL;
	char reason[256];
	int ok = 0;

	if (one != NULL && in != NULL && sk_X509_push(one, x) > 0)
		cms = CMS_encrypt(one, in, backup_cipher(), CMS_BINARY);
	if (cms == NULL)
		snprintf(
		    why, whylen, "cannot encrypt to it: %s", ssl_reason(reason, sizeof(reason)));
	else
		ok = 1;
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(one); /* x stays the caller's */
	return ok;
}

int
backup_recipients_load(const char *path, STACK_OF(X509) * certs, char *why, size_t whylen)
{
	char *buf;
	size_t len;
	FILE *f;
	BIO *mem;
	X509 *x;
	int n = 0, bad = 0;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(RECIPIENT_MAX_BYTES + 1)) == NULL)
		fatal("malloc");
	len = fread(buf, 1, RECIPIENT_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	if (len > RECIPIENT_MAX_BYTES) {
		snprintf(why, whylen, "%s: larger than %d bytes: not a certificate", path,
		    RECIPIENT_MAX_BYTES);
		free(buf);
		return -1;
	}
	if ((mem = BIO_new_mem_buf(buf, (int)len)) == NULL)
		fatal("BIO_new_mem_buf");
	while (!bad && (x = PEM_read_bio_X509(mem, NULL, NULL, NULL)) != NULL) {
		if (!usable(x, why, whylen) || !trial(x, why, whylen) ||
		    sk_X509_push(certs, x) <= 0) {
			X509_free(x);
			bad = 1;
			break;
		}
		n++;
	}
	BIO_free(mem);
	ERR_clear_error(); /* the end of the PEM blocks is reported as an error */
	if (!bad && n == 0) {
		const unsigned char *p = (const unsigned char *)buf;
		x = d2i_X509(NULL, &p, (long)len);
		ERR_clear_error();
		if (x == NULL) {
			snprintf(why, whylen, "%s: not an X.509 certificate (PEM or DER)", path);
			free(buf);
			return -1;
		}
		if (!usable(x, why, whylen) || !trial(x, why, whylen) ||
		    sk_X509_push(certs, x) <= 0) {
			X509_free(x);
			bad = 1;
		} else
			n = 1;
	}
	free(buf);
	if (bad) {
		/* Say which file: the reason was written without it. */
		char reason[512];
		snprintf(reason, sizeof(reason), "%s", why);
		snprintf(why, whylen, "%s: %s", path, reason);
		return -1;
	}
	return n;
}

int
backup_encrypt(STACK_OF(X509) * certs, const char *in_path, int out_fd, char *err, size_t errlen)
{
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL, *out = NULL;
	char reason[256];
	int rv = -1;

	if ((in = BIO_new_file(in_path, "rb")) == NULL ||
	    (out = BIO_new_fd(out_fd, BIO_NOCLOSE)) == NULL) {
		snprintf(
		    err, errlen, "cannot open the copy: %s", ssl_reason(reason, sizeof(reason)));
		goto out;
	}
	/* With CMS_STREAM nothing is read yet: i2d_CMS_bio_stream reads and writes in pieces. */
	if ((cms = CMS_encrypt(certs, in, backup_cipher(), CMS_FLAGS)) == NULL ||
	    i2d_CMS_bio_stream(out, cms, in, CMS_FLAGS) != 1 || BIO_flush(out) != 1) {
		snprintf(err, errlen, "cannot encrypt: %s", ssl_reason(reason, sizeof(reason)));
		goto out;
	}
	rv = 0;
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	return rv;
}
