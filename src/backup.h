/*
 * Backups encrypted to the recipients the structure names (backup_recipient):
 * CMS enveloped data (RFC 5652), AES-256-CBC, that `openssl cms -decrypt`
 * and any CMS implementation open with a recipient's private key. The daemon
 * holds only the certificates: whoever takes a backup cannot read it.
 */
#ifndef TREMPLIN_BACKUP_H
#define TREMPLIN_BACKUP_H

#include <stddef.h>

#include <openssl/x509.h>

/*
 * Append the certificates of `path` (PEM, one or more, or one DER) to certs,
 * each checked: an RSA key that may encipher keys or an EC key that may agree
 * on them, and a trial encryption to it. Returns how many were added, or -1
 * with why ("cannot read: ...", "not an X.509 certificate", ...).
 */
int backup_recipients_load(const char *path, STACK_OF(X509) * certs, char *why, size_t whylen);

/*
 * Encrypt the file in_path to every certificate of certs, writing CMS
 * EnvelopedData (BER, streamed: the file is read once, in pieces) to out_fd.
 * 0 done, -1 with err.
 */
int backup_encrypt(
    STACK_OF(X509) * certs, const char *in_path, int out_fd, char *err, size_t errlen);

#endif
