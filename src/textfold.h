/*
 * Text folded for search: lower case, accents dropped ("Hélène" and
 * "HELENE" both fold to "helene"), so that staff find a person however
 * they type the name.
 */
#ifndef TREMPLIN_TEXTFOLD_H
#define TREMPLIN_TEXTFOLD_H

#include <stddef.h>

/* Fold UTF-8 in into out (always terminated, cut between characters when too small). */
void text_fold(const char *in, char *out, size_t size);
/* Whether every word (space-separated) of the folded query fq is in the folded text ft. */
int text_fold_match(const char *ft, const char *fq);

#endif
