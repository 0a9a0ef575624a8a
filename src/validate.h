/* Checks of single values. Each returns NULL when the value is good, else why not. */
#ifndef TREMPLIN_VALIDATE_H
#define TREMPLIN_VALIDATE_H

const char *valid_siret(const char *);
const char *valid_structure_kind(const char *);
/* The annexe financière number, e.g. ACI023201111A0M0, whose prefix is the kind. */
const char *valid_annexe_financiere(const char *number, const char *kind);
const char *valid_email(const char *);
const char *valid_unix_user(const char *);
/*
 * Text typed by people, counted in UTF-8 characters (the body's parser has
 * already refused invalid UTF-8 and NUL): 1..max characters, no control
 * characters. VALID_LINE is a label: one line, without surrounding spaces.
 * VALID_LINES is a longer text (notes, review content): line breaks and tabs
 * allowed, spaces anywhere.
 */
enum valid_text_kind { VALID_LINE, VALID_LINES };
const char *valid_text(const char *, int max, enum valid_text_kind);
/* A label: valid_text(s, max, VALID_LINE) (plugins have it in the SDK). */
const char *valid_label(const char *, int max);

#endif
