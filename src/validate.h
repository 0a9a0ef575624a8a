/* Checks of single values. Each returns NULL when the value is good, else why not. */
#ifndef TREMPLIN_VALIDATE_H
#define TREMPLIN_VALIDATE_H

const char *valid_siret(const char *);
const char *valid_structure_kind(const char *);
/* The annexe financière number, e.g. ACI023201111A0M0, whose prefix is the kind. */
const char *valid_annexe_financiere(const char *number, const char *kind);
const char *valid_email(const char *);
const char *valid_unix_user(const char *);
/* A human-readable label: 1..max characters, no control characters. */
const char *valid_label(const char *, int max);

#endif
