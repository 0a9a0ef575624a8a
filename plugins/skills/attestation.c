/* The attestation de compétences: see attestation.h. */
#include "attestation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>

/* ---- a growing buffer ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Text into HTML: &, <, >, " and ' escaped. */
static void
sb_text(struct sbuf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			sb_str(b, "&amp;");
			break;
		case '<':
			sb_str(b, "&lt;");
			break;
		case '>':
			sb_str(b, "&gt;");
			break;
		case '"':
			sb_str(b, "&quot;");
			break;
		case '\'':
			sb_str(b, "&#39;");
			break;
		default:
			sb_add(b, s, 1);
		}
	}
}

const char *
att_date_fr(const char *iso, char *buf, size_t size)
{
	if (iso == NULL || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-') {
		snprintf(buf, size, "%s", iso ? iso : "");
		return buf;
	}
	snprintf(buf, size, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
	return buf;
}

const char *
att_kind_fr(const char *kind)
{
	if (kind != NULL && strcmp(kind, "savoir_faire") == 0)
		return "savoir-faire";
	if (kind != NULL && strcmp(kind, "savoir_etre") == 0)
		return "savoir-être professionnel";
	return "savoir";
}

/* ---- HTML ---- */

char *
att_html(const struct att_doc *d, size_t *len)
{
	struct sbuf b = { 0 };
	char from[16], to[16], on[16], day[16];
	const char *block = NULL;

	att_date_fr(d->from, from, sizeof(from));
	att_date_fr(d->to, to, sizeof(to));
	att_date_fr(d->issued_on, on, sizeof(on));
	sb_str(&b,
	    "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<title>Attestation de compétences</title>\n<style>\n"
	    "body{font-family:sans-serif;max-width:48em;margin:2em auto;color:#222}\n"
	    "h1{font-size:1.5em;text-align:center}h2{font-size:1.1em;margin-top:1.5em}\n"
	    "table{border-collapse:collapse;width:100%}"
	    "td,th{border:1px solid #999;padding:.3em .5em;text-align:left}\n"
	    ".signatures{display:flex;justify-content:space-between;margin-top:3em}\n"
	    "@media print{body{margin:0}}\n</style>\n</head>\n<body>\n"
	    "<h1>Attestation de compétences</h1>\n<p>");
	sb_text(&b, d->structure);
	sb_str(&b, " atteste que <strong>");
	sb_text(&b, d->person);
	sb_str(&b, "</strong>, salarié·e en parcours d'insertion du ");
	sb_text(&b, from);
	sb_str(&b, " au ");
	sb_text(&b, to);
	sb_str(&b, ", a acquis en situation de travail les compétences suivantes.</p>\n");
	if (d->nlines == 0)
		sb_str(
		    &b, "<p>Aucune compétence acquise n'est enregistrée sur cette période.</p>\n");
	for (size_t i = 0; i < d->nlines; i++) {
		const struct att_line *l = &d->lines[i];
		if (block == NULL || strcmp(block, l->block) != 0) {
			if (block != NULL)
				sb_str(&b, "</tbody></table>\n");
			block = l->block;
			sb_str(&b, "<h2>");
			sb_text(&b, l->block);
			sb_str(&b, " <small>(");
			sb_text(&b, l->referential);
			sb_str(&b,
			    ")</small></h2>\n<table><thead><tr><th>Code</th><th>Compétence</th>"
			    "<th>Nature</th><th>Niveau</th><th>Date</th></tr></thead><tbody>\n");
		}
		sb_str(&b, "<tr><td>");
		sb_text(&b, l->code);
		sb_str(&b, "</td><td>");
		sb_text(&b, l->title);
		sb_str(&b, "</td><td>");
		sb_text(&b, att_kind_fr(l->kind));
		sb_str(&b, "</td><td>");
		sb_text(&b, l->level);
		sb_str(&b, "</td><td>");
		sb_text(&b, att_date_fr(l->date, day, sizeof(day)));
		sb_str(&b, "</td></tr>\n");
	}
	if (block != NULL)
		sb_str(&b, "</tbody></table>\n");
	sb_str(&b, "<p>Fait le ");
	sb_text(&b, on);
	sb_str(&b, ".</p>\n<div class=\"signatures\"><div>L'encadrant·e technique d'insertion<br>");
	sb_text(&b, d->eti);
	sb_str(&b, "</div>");
	if (d->coordinator != NULL) {
		sb_str(&b, "<div>Le ou la coordinateur·rice<br>");
		sb_text(&b, d->coordinator);
		sb_str(&b, "</div>");
	}
	sb_str(&b, "</div>\n</body>\n</html>\n");
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- PDF ---- */

#define PAGE_W 595.0 /* A4, in points */
#define PAGE_H 842.0
#define MARGIN 56.0

struct pdf {
	cairo_t *cr;
	PangoFontDescription *font;
	double y;
	struct sbuf out;
};

static cairo_status_t
pdf_write(void *arg, const unsigned char *data, unsigned int len)
{
	struct sbuf *b = arg;

	sb_add(b, (const char *)data, len);
	return b->failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* One paragraph of pango markup at x, wrapped to width; a new page when it does not fit. */
static void
para(struct pdf *p, double x, double width, double size, const char *markup, double after)
{
	PangoLayout *l = pango_cairo_create_layout(p->cr);
	int w, h;

	pango_font_description_set_absolute_size(p->font, size * PANGO_SCALE);
	pango_layout_set_font_description(l, p->font);
	pango_layout_set_width(l, (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_markup(l, markup, -1);
	pango_layout_get_size(l, &w, &h);
	if (p->y + (double)h / PANGO_SCALE > PAGE_H - MARGIN) {
		cairo_show_page(p->cr);
		p->y = MARGIN;
	}
	cairo_move_to(p->cr, x, p->y);
	pango_cairo_show_layout(p->cr, l);
	p->y += (double)h / PANGO_SCALE + after;
	g_object_unref(l);
}

/* printf into pango markup, each %s argument escaped. */
static char *markup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
markup(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = g_markup_vprintf_escaped(fmt, ap);
	va_end(ap);
	return s;
}

int
att_pdf(const struct att_doc *d, unsigned char **out, size_t *len)
{
	struct pdf p = { 0 };
	cairo_surface_t *s;
	char from[16], to[16], on[16], day[16];
	const char *block = NULL;
	const double width = PAGE_W - 2 * MARGIN;
	char *m;

	s = cairo_pdf_surface_create_for_stream(pdf_write, &p.out, PAGE_W, PAGE_H);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return -1;
	}
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Attestation de compétences");
	p.cr = cairo_create(s);
	p.font = pango_font_description_from_string("DejaVu Sans");
	p.y = MARGIN;
	att_date_fr(d->from, from, sizeof(from));
	att_date_fr(d->to, to, sizeof(to));
	att_date_fr(d->issued_on, on, sizeof(on));

	para(&p, MARGIN, width, 20, "<b>Attestation de compétences</b>", 18);
	m = markup("%s atteste que <b>%s</b>, salarié·e en parcours d'insertion du %s au %s, a "
	           "acquis en situation de travail les compétences suivantes.",
	    d->structure, d->person, from, to);
	para(&p, MARGIN, width, 11, m, 12);
	g_free(m);
	if (d->nlines == 0)
		para(&p, MARGIN, width, 11,
		    "Aucune compétence acquise n'est enregistrée sur cette période.", 12);
	for (size_t i = 0; i < d->nlines; i++) {
		const struct att_line *l = &d->lines[i];
		if (block == NULL || strcmp(block, l->block) != 0) {
			block = l->block;
			m = markup("<b>%s</b> (%s)", l->block, l->referential);
			para(&p, MARGIN, width, 12, m, 6);
			g_free(m);
		}
		m = markup("%s — %s (%s) : <b>%s</b>, le %s", l->code, l->title,
		    att_kind_fr(l->kind), l->level, att_date_fr(l->date, day, sizeof(day)));
		para(&p, MARGIN + 12, width - 12, 10, m, 4);
		g_free(m);
	}
	p.y += 12;
	m = markup("Fait le %s.", on);
	para(&p, MARGIN, width, 11, m, 24);
	g_free(m);
	{
		double y = p.y;
		m = markup("L'encadrant·e technique d'insertion\n%s", d->eti);
		para(&p, MARGIN, width / 2 - 10, 10, m, 0);
		g_free(m);
		if (d->coordinator != NULL) {
			p.y = y;
			m = markup("Le ou la coordinateur·rice\n%s", d->coordinator);
			para(&p, MARGIN + width / 2, width / 2, 10, m, 0);
			g_free(m);
		}
	}
	cairo_show_page(p.cr);
	pango_font_description_free(p.font);
	cairo_destroy(p.cr);
	cairo_surface_finish(s);
	int bad = cairo_surface_status(s) != CAIRO_STATUS_SUCCESS || p.out.failed;
	cairo_surface_destroy(s);
	if (bad) {
		free(p.out.p);
		return -1;
	}
	*out = (unsigned char *)p.out.p;
	*len = p.out.len;
	return 0;
}

int
att_pdf_text(
    const char *title, const struct att_para *paras, size_t n, unsigned char **out, size_t *len)
{
	static const double size[] = { 18, 13, 10.5, 10 }, after[] = { 14, 6, 8, 4 };
	struct pdf p = { 0 };
	const double width = PAGE_W - 2 * MARGIN;
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(pdf_write, &p.out, PAGE_W, PAGE_H);
	int bad;

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return -1;
	}
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	p.cr = cairo_create(s);
	p.font = pango_font_description_from_string("DejaVu Sans");
	p.y = MARGIN;
	for (size_t i = 0; i < n; i++) {
		enum att_style st = paras[i].style;
		char *m = st == ATT_TITLE || st == ATT_HEADING
		    ? markup("<b>%s</b>", paras[i].text ? paras[i].text : "")
		    : markup("%s", paras[i].text ? paras[i].text : "");
		double indent = st == ATT_ITEM ? 12 : 0;
		if (st == ATT_HEADING)
			p.y += 6;
		para(&p, MARGIN + indent, width - indent, size[st], m, after[st]);
		g_free(m);
	}
	cairo_show_page(p.cr);
	pango_font_description_free(p.font);
	cairo_destroy(p.cr);
	cairo_surface_finish(s);
	bad = cairo_surface_status(s) != CAIRO_STATUS_SUCCESS || p.out.failed;
	cairo_surface_destroy(s);
	if (bad) {
		free(p.out.p);
		return -1;
	}
	*out = (unsigned char *)p.out.p;
	*len = p.out.len;
	return 0;
}

void
att_shutdown(void)
{
	pango_cairo_font_map_set_default(NULL);
	cairo_debug_reset_static_data();
	FcFini();
}
