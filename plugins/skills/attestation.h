/*
 * The attestation de compétences, rendered from plain values: a printable
 * French HTML page, and a PDF drawn by cairo with pango's text layout (no
 * hand-written PDF). What goes in is decided by skills.c: only acquired
 * competences, savoir-être only with the person's consent, nothing else of
 * the person's file than their name.
 */
#ifndef SKILLS_ATTESTATION_H
#define SKILLS_ATTESTATION_H

#include <stddef.h>

struct att_line {
	const char *block; /* the block's or domain's title */
	const char *code; /* the external code, else the referential's own */
	const char *title;
	const char *kind; /* "savoir_faire", "savoir", "savoir_etre" */
	const char *level; /* the level's name */
	const char *date; /* YYYY-MM-DD of the evaluation that reached it */
	const char *referential; /* its title */
};

struct att_doc {
	const char *person; /* first and last name */
	const char *structure;
	const char *from, *to; /* YYYY-MM-DD: the period */
	const char *issued_on; /* YYYY-MM-DD */
	const char *eti; /* who signs: names */
	const char *coordinator; /* or NULL */
	const struct att_line *lines;
	size_t nlines;
};

/* A new NUL-terminated UTF-8 HTML page (*len without the NUL), or NULL. */
char *att_html(const struct att_doc *, size_t *len);

/* A new PDF in *out (*len bytes): 0, or -1. */
int att_pdf(const struct att_doc *, unsigned char **out, size_t *len);

/* A document of plain-text paragraphs (a session's dossier), as a PDF the same way. */
enum att_style { ATT_TITLE, ATT_HEADING, ATT_BODY, ATT_ITEM };
struct att_para {
	enum att_style style;
	const char *text; /* UTF-8, plain: escaped here */
};
int att_pdf_text(
    const char *title, const struct att_para *, size_t n, unsigned char **out, size_t *len);

/*
 * At the plugin's stop: drop pango's, cairo's and fontconfig's caches of
 * fonts, which live as long as the process otherwise (and would read as
 * leaks to a sanitizer).
 */
void att_shutdown(void);

/* "2026-03-02" -> "02/03/2026" in buf (the text as it is when not a date). */
const char *att_date_fr(const char *iso, char *buf, size_t size);

/* "savoir_faire" -> "savoir-faire"... as written in French. */
const char *att_kind_fr(const char *kind);

#endif
