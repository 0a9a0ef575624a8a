/*
 * Demo data. Two shapes:
 *
 * - the workshop: an ACI "espaces verts" in the Creuse with a coordinator,
 *   a CIP, two ETIs and twelve employees, each at a telling point of the
 *   pathway (just hired, in diagnosis, renewed, near the 24-month limit,
 *   exited to a job or a training, about to start), written from the tables
 *   below;
 * - generated: N employees hired over Y years, each with a PASS IAE, a CDDI
 *   and its renewals, the welcome checklist, barriers, goals, reviews every
 *   few months, observations every few weeks, CIP notes and, for pathways
 *   that ended, an exit; all drawn from a seeded generator, so the same
 *   seed on the same day gives the same data.
 *
 * The rows are written as an import would write them: straight into the
 * tables, in batches of transactions, without journal events (nothing
 * happened that a subscriber should act on) and without audit entries
 * (nobody read or wrote through the API). Dates are days of the Europe/Paris
 * calendar counted back from today (tr_now(), so TREMPLIN_TEST_CLOCK moves
 * them); each record's time stamp is the moment it was written in the story,
 * never later than now, and last_contact_at is the person's latest record,
 * so retention sees the files as they would be.
 *
 * Inserts name their columns: a migration that adds a nullable column or one
 * with a default does not break them.
 */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernel/kernel.h"
#include "calendar.h"
#include "db.h"
#include "util.h"
#include "validate.h"

extern const struct db_module core_module;

#define NODAY INT64_MIN
#define BATCH 250 /* employees per transaction */
#define MAX_RENEWALS 4

/* ---- the structure and its staff ---- */

static const char structure_name[] = "Jardins Solidaires du Pays de Guéret";
static const char structure_siret[] = "44102987600014";

static const struct staff_seed {
	const char *account, *name, *email, *team;
} core_staff[] = {
	{ "coordinator", "Claire Lefèvre", "claire.lefevre@example.org", NULL },
	{ "cip", "Awa Diallo", "awa.diallo@example.org", NULL },
	{ "eti1", "Karim Benali", "karim.benali@example.org", "Équipe entretien" },
	{ "eti2", "Julien Moreau", "julien.moreau@example.org", "Équipe aménagement" },
};

/* More staff for generated workshops: one ETI for about 36 files, one CIP for about 90. */
static const char *const staff_first[] = { "Hélène", "Mehdi", "Sandrine", "Olivier", "Nathalie",
	"Franck", "Élodie", "Bruno", "Aïcha", "Stéphane", "Céline", "Cédric", "Malika", "Pascal",
	"Virginie", "Youssef", "Isabelle", "Thierry" };
static const char *const staff_last[] = { "Garnier", "Ouali", "Petit", "Chauvet", "Roche", "Dumas",
	"Marchal", "Faure", "Bensaïd", "Aubert", "Vidal", "Lemaire", "Perrin", "Guillot", "Tessier",
	"Barre", "Renaud" };
static const char *const team_names[] = { "Équipe entretien", "Équipe aménagement",
	"Équipe maraîchage", "Équipe bûcheronnage", "Équipe fleurissement", "Équipe rivières" };

/* ---- the generator's state ---- */

struct gen {
	struct db *db;
	int64_t today; /* Europe/Paris day of tr_now() */
	int64_t now; /* tr_now(), seconds */
	uint64_t rng;
	int64_t touch; /* latest time stamp written for the current employee */
	int64_t structure;
	int64_t coordinator;
	int64_t *cip, *eti; /* staff ids */
	char **cip_name, **eti_name, **team;
	int ncip, neti;
	char err[512];
};

/* splitmix64: small, fast, and the same everywhere for a seed. */
static uint64_t
next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static int
rnd(struct gen *g, int n)
{
	return n <= 1 ? 0 : (int)(next_u64(&g->rng) % (uint64_t)n);
}

/* lo .. hi, both included */
static int
between(struct gen *g, int lo, int hi)
{
	return lo + rnd(g, hi - lo + 1);
}

static int
chance(struct gen *g, int percent)
{
	return rnd(g, 100) < percent;
}

#define PICK(g, a) ((a)[rnd((g), (int)TR_NELEM(a))])

/* ---- dates and time stamps ---- */

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The instant of day at hh:mm in Paris, as seconds; never after now. */
static int64_t
stamp(struct gen *g, int64_t day, int hh, int mm)
{
	int64_t local = day * 86400 + hh * 3600 + mm * 60;
	int64_t t = local - cal_paris_offset(local - 3600);

	return t > g->now ? g->now : t;
}

/* A working-hours stamp on day, minutes drawn from the generator. */
static int64_t
at(struct gen *g, int64_t day)
{
	return stamp(g, day, between(g, 8, 16), rnd(g, 60));
}

/* ---- writing ---- */

static int
fail(struct gen *g, const char *what)
{
	snprintf(g->err, sizeof(g->err), "%s: %s", what, sqlite3_errmsg(db_handle(g->db)));
	return -1;
}

/*
 * Run one static INSERT or UPDATE. kinds says what each argument is:
 * 't' text (NULL binds NULL), 'i' int, 'I' int64_t, 'd' double,
 * 'D' a day as int64_t (NODAY binds NULL), 'T' a time stamp in seconds as
 * int64_t (it also moves the current employee's last contact).
 * The new row's id, or -1.
 */
static int64_t
put(struct gen *g, const char *sql, const char *kinds, ...)
{
	sqlite3_stmt *st = db_stmt(g->db, sql);
	char buf[32];
	va_list ap;
	int i = 1, rc;

	if (st == NULL)
		return fail(g, "prepare");
	va_start(ap, kinds);
	for (const char *k = kinds; *k != '\0'; k++, i++) {
		switch (*k) {
		case 't': {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
			break;
		}
		case 'i':
			sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 'I':
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'd':
			sqlite3_bind_double(st, i, va_arg(ap, double));
			break;
		case 'D': {
			int64_t day = va_arg(ap, int64_t);
			if (day == NODAY || cal_format(day, buf, sizeof(buf)) == -1)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
			break;
		}
		case 'T': {
			int64_t t = va_arg(ap, int64_t);
			g->touch = max64(g->touch, t);
			tr_rfc3339((time_t)t, buf, sizeof(buf));
			sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
			break;
		}
		}
	}
	va_end(ap);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return fail(g, sql);
	return sqlite3_last_insert_rowid(db_handle(g->db));
}

static const char sql_structure[] =
    "INSERT INTO structures (name, siret, kind, annexe_financiere, created_at, updated_at)"
    " VALUES (?1, ?2, 'ACI', ?3, ?4, ?4)";
static const char sql_staff[] =
    "INSERT INTO staff (name, unix_user, role, email, active, bootstrap, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, 1, 0, ?5, ?5)";
static const char sql_employee[] =
    "INSERT INTO employees (structure_id, first_name, last_name, birth_date, email, phone,"
    " address, france_travail_id, prescriber_kind, prescriber_name, team, referent_cip_id,"
    " referent_eti_id, status, last_contact_at, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?15)";
static const char sql_employee_done[] =
    "UPDATE employees SET last_contact_at = ?1, updated_at = ?2 WHERE id = ?3";
static const char sql_pass[] =
    "INSERT INTO passes (employee_id, number, start_date, initial_end_date, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
static const char sql_contract[] =
    "INSERT INTO contracts (employee_id, structure_id, start_date, end_date, initial_end_date,"
    " weekly_hours, ended_on, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_renewal[] =
    "INSERT INTO contract_renewals (contract_id, previous_end_date, new_end_date, created_at)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char sql_exit[] =
    "INSERT INTO exits (employee_id, exit_date, category, destination, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
static const char sql_welcome[] =
    "INSERT INTO welcome_items (employee_id, item, done_on, done_by, note, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_barrier[] =
    "INSERT INTO barriers (employee_id, category, severity, status, shared_with_eti, detail,"
    " created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_observation[] =
    "INSERT INTO observations (employee_id, observed_on, kind, text, author_id, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_goal[] =
    "INSERT INTO goals (employee_id, text, deadline, status, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_review[] =
    "INSERT INTO reviews (employee_id, kind, planned_on, held_on, participants, content,"
    " decisions, shared_with_eti, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char sql_note[] =
    "INSERT INTO notes (employee_id, text, author_id, created_at) VALUES (?1, ?2, ?3, ?4)";

/* ---- a person's pathway ---- */

struct person {
	const char *first, *last, *birth, *email, *phone, *address, *ft_id;
	const char *prescriber_kind, *prescriber_name;
	int cip, eti; /* indices into the staff of the generator */
	int64_t opened; /* the file is opened (orientation) */
	const char *pass_number;
	int64_t pass_start;
	int64_t hired; /* the CDDI's first day; NODAY: none yet */
	int months[1 + MAX_RENEWALS]; /* initial term then renewals, 0 ends */
	double hours;
	int64_t exit_day; /* NODAY: in the pathway */
	const char *exit_category, *exit_destination;
};

/* The contract as it stands today: renewals decided three weeks before each end. */
struct contract_plan {
	int64_t start, initial_end, end, ended_on;
	int64_t prev[MAX_RENEWALS], next[MAX_RENEWALS];
	int nrenewals;
};

static void
plan_contract(struct gen *g, const struct person *p, struct contract_plan *c)
{
	/*
	 * A CDDI lasts 24 months at most, renewals included (without a legal
	 * reason). Terms end as contract_rules counts months, so that the API
	 * would accept every contract written here.
	 */
	int64_t cap = cal_months_end(p->hired, 24);

	memset(c, 0, sizeof(*c));
	c->start = p->hired;
	c->initial_end = c->end = min64(cal_months_end(p->hired, p->months[0]), cap);
	for (int i = 1; i <= MAX_RENEWALS && p->months[i] > 0; i++) {
		int64_t decided = c->end - 21;
		if (decided > g->today || (p->exit_day != NODAY && p->exit_day <= c->end))
			break;
		int64_t next = min64(cal_months_end(c->end + 1, p->months[i]), cap);
		if (next <= c->end)
			break;
		c->prev[c->nrenewals] = c->end;
		c->next[c->nrenewals++] = next;
		c->end = next;
	}
	c->ended_on = p->exit_day != NODAY && p->exit_day < c->end ? p->exit_day : NODAY;
}

static const char *
status_of(struct gen *g, const struct person *p)
{
	if (p->exit_day != NODAY)
		return "exited";
	if (p->hired == NODAY || p->hired > g->today)
		return "candidate";
	return "in_pathway";
}

/*
 * The employee, the PASS, the contract and its renewals, the exit. The new
 * id, or -1; *exited_at: the time stamp of the exit, 0 without one.
 */
static int64_t
write_person(struct gen *g, const struct person *p, int64_t *exited_at)
{
	struct contract_plan c;
	int64_t id, cid;

	g->touch = 0;
	id = put(g, sql_employee, "IttttttttttIItT", g->structure, p->first, p->last, p->birth,
	    p->email, p->phone, p->address, p->ft_id, p->prescriber_kind, p->prescriber_name,
	    g->team[p->eti], g->cip[p->cip], g->eti[p->eti], status_of(g, p), at(g, p->opened));
	if (id == -1)
		return -1;
	if (p->pass_number != NULL &&
	    put(g, sql_pass, "ItDDT", id, p->pass_number, p->pass_start, p->pass_start + 729,
	        at(g, p->pass_start)) == -1)
		return -1;
	if (p->hired != NODAY) {
		plan_contract(g, p, &c);
		/* Signed at the hiring interview, a few days before the first day. */
		int64_t signed_on = min64(p->hired - 3, g->today);
		int64_t made = at(g, signed_on), changed = made;
		if (c.ended_on != NODAY)
			changed = max64(made, at(g, c.ended_on));
		else if (c.nrenewals > 0)
			changed = max64(made, at(g, c.prev[c.nrenewals - 1] - 21));
		cid = put(g, sql_contract, "IIDDDdDTT", id, g->structure, c.start, c.end,
		    c.initial_end, p->hours, c.ended_on, made, changed);
		if (cid == -1)
			return -1;
		for (int i = 0; i < c.nrenewals; i++)
			if (put(g, sql_renewal, "IDDT", cid, c.prev[i], c.next[i],
			        at(g, c.prev[i] - 21)) == -1)
				return -1;
	}
	*exited_at = 0;
	if (p->exit_day != NODAY) {
		*exited_at = at(g, p->exit_day);
		if (put(g, sql_exit, "IDttT", id, p->exit_day, p->exit_category,
		        p->exit_destination, *exited_at) == -1)
			return -1;
	}
	return id;
}

/* After the follow-up records: the file's last contact is its latest record. */
static int
close_person(struct gen *g, int64_t id, int64_t exited_at)
{
	char last[32], upd[32];

	tr_rfc3339((time_t)g->touch, last, sizeof(last));
	tr_rfc3339((time_t)(exited_at ? exited_at : g->touch), upd, sizeof(upd));
	return put(g, sql_employee_done, "ttI", last, upd, id) == -1 ? -1 : 0;
}

/* ---- follow-up records ---- */

static const struct {
	const char *code;
	int day; /* after the first day */
	int by_eti;
	const char *note;
} welcome_steps[] = {
	{ "booklet", 0, 0, NULL },
	{ "rules", 0, 0, "Règlement intérieur lu ensemble et signé" },
	{ "safety_briefing", 0, 1, "Consignes de sécurité des chantiers et du dépôt" },
	{ "ppe_issued", 0, 1,
	    "Chaussures de sécurité, gants, lunettes, casque antibruit et gilet haute visibilité" },
	{ "team_introduction", 1, 1,
	    "Présentation à l'équipe et visite des chantiers de la semaine" },
	{ "medical_visit", 12, 0,
	    "Visite d'information et de prévention au service de santé au travail" },
};

static int
add_welcome(struct gen *g, int64_t id, const struct person *p, int steps, int delay)
{
	for (int i = 0; i < steps && i < (int)TR_NELEM(welcome_steps); i++) {
		int64_t day = p->hired + welcome_steps[i].day + (i == 5 ? delay : 0);
		if (day > g->today)
			continue;
		int64_t by = welcome_steps[i].by_eti ? g->eti[p->eti] : g->cip[p->cip];
		if (put(g, sql_welcome, "ItDItT", id, welcome_steps[i].code, day, by,
		        welcome_steps[i].note, at(g, day)) == -1)
			return -1;
	}
	return 0;
}

static int
add_barrier(struct gen *g, int64_t id, const struct person *p, const char *category, int severity,
    const char *status, int shared, const char *detail, int64_t day, int64_t changed)
{
	int64_t t0 = at(g, day), t1 = changed == day ? t0 : max64(t0, at(g, changed));

	return put(g, sql_barrier, "ItititITT", id, category, severity, status, shared, detail,
	           g->cip[p->cip], t0, t1) == -1
	    ? -1
	    : 0;
}

static int
add_observation(struct gen *g, int64_t id, const struct person *p, int64_t day, const char *kind,
    const char *text)
{
	return put(g, sql_observation, "IDttIT", id, day, kind, text, g->eti[p->eti],
	           stamp(g, day, 16, rnd(g, 60))) == -1
	    ? -1
	    : 0;
}

static int
add_goal(struct gen *g, int64_t id, const char *text, int64_t deadline, const char *status,
    int64_t day, int64_t changed)
{
	int64_t t0 = at(g, day), t1 = changed == day ? t0 : max64(t0, at(g, changed));

	return put(g, sql_goal, "ItDtTT", id, text, deadline, status, t0, t1) == -1 ? -1 : 0;
}

static int
add_review(struct gen *g, int64_t id, const struct person *p, const char *kind, int64_t planned,
    int64_t held, const char *content, const char *decisions, const char *shared)
{
	char who[512];
	/* Planned two weeks ahead; the arguments are drawn in order, for the seed's sake. */
	int64_t made = at(g, min64(planned - 14, g->today));

	/* Participants: the referents and the person, as a JSON array of names. */
	snprintf(who, sizeof(who), "[\"%s\", \"%s\", \"%s %s\"]", g->cip_name[p->cip],
	    g->eti_name[p->eti], p->first, p->last);
	if (held == NODAY)
		return put(g, sql_review, "ItDDttttTT", id, kind, planned, NODAY, NULL, NULL, NULL,
		           NULL, made, made) == -1
		    ? -1
		    : 0;
	int64_t done = max64(made, stamp(g, held, 17, rnd(g, 60)));
	return put(g, sql_review, "ItDDttttTT", id, kind, planned, held, who, content, decisions,
	           shared, made, done) == -1
	    ? -1
	    : 0;
}

static int
add_note(struct gen *g, int64_t id, const struct person *p, int64_t day, const char *text)
{
	return put(g, sql_note, "ItIT", id, text, g->cip[p->cip], at(g, day)) == -1 ? -1 : 0;
}

/* ---- the workshop of twelve ---- */

#define NONE INT32_MIN
#define NEXT_MONDAY (INT32_MIN + 1)

/* Days are counted from today (negative: past). */
static const struct w_person {
	struct person p; /* names, contact, prescriber, PASS number, months, hours, exit texts */
	int eti;
	int opened, pass_before_hire, hired, end_in, exit, welcome;
} workshop[] = {
	/* Just hired: half of the welcome checklist done, diagnosis to come. */
	{ { "Mathieu", "Roussel", "1994-03-17", "mathieu.roussel@example.org", "06 12 48 73 90",
	      "4 rue des Tilleuls, 23000 Guéret", "4127385K", "france_travail",
	      "France Travail Guéret", 0, 0, 0, "999992318764", 0, 0, { 4 }, 26, 0, NULL, NULL },
	    0, -24, 7, -3, NONE, NONE, 3 },
	/* In diagnosis: transport and childcare, one shared with the ETI. */
	{ { "Samira", "Haddad", "1987-11-02", NULL, "07 61 22 35 18",
	      "11 allée des Cerisiers, 23000 Guéret", "3958216B", "conseil_departemental",
	      "Conseil départemental de la Creuse (RSA)", 0, 0, 0, "999991470253", 0, 0, { 4 }, 24,
	      0, NULL, NULL },
	    1, -40, 5, -15, NONE, NONE, 5 },
	/* Entry review held; a health barrier whose existence only is shared. */
	{ { "Thomas", "Lambert", "1979-06-25", "thomas.lambert23@example.org", "06 88 14 02 67",
	      "2 place du Marché, 23000 Sainte-Feyre", "2871044M", "cap_emploi",
	      "Cap emploi Creuse", 0, 0, 0, "999995102847", 0, 0, { 6 }, 26, 0, NULL, NULL },
	    0, -70, 7, -38, NONE, NONE, 6 },
	/* Renewed once; the permit obtained, the mini-excavator licence next. */
	{ { "Lucie", "Fabre", "2001-09-08", "lucie.fabre@example.org", "07 83 50 19 44",
	      "7 rue Jules Ferry, 23150 Ahun", NULL, "mission_locale",
	      "Mission locale de la Creuse", 0, 0, 0, "999993684120", 0, 0, { 4, 6 }, 30, 0, NULL,
	      NULL },
	    1, -160, 10, -130, NONE, NONE, 6 },
	/* Fifty-eight, debts being settled; renewed after an intermediate review. */
	{ { "Jean-Pierre", "Morel", "1966-01-30", NULL, "05 55 52 18 07",
	      "La Ribière, 23000 Saint-Laurent", "1760932F", "france_travail",
	      "France Travail Guéret", 0, 0, 0, "999990927316", 0, 0, { 6, 6 }, 35, 0, NULL, NULL },
	    0, -270, 5, -250, NONE, NONE, 6 },
	/* Fourteen months in, part time, French classes. */
	{ { "Fatou", "Camara", "1990-05-14", "fatou.camara@example.org", "07 52 09 66 31",
	      "15 avenue de la Sénatorerie, 23000 Guéret", "3302187C", "plie",
	      "PLIE du Grand Guéret", 0, 0, 0, "999996241598", 0, 0, { 6, 6, 6 }, 20, 0, NULL,
	      NULL },
	    1, -450, 10, -420, NONE, NONE, 6 },
	/* The 24-month limit in 25 days and no exit review planned: the alert fires. */
	{ { "Kevin", "Girard", "1998-12-03", "kevin.girard@example.org", "06 45 71 88 02",
	      "3 impasse des Genêts, 23320 Saint-Vaury", "4410257D", "mission_locale",
	      "Mission locale de la Creuse", 0, 0, 0, "999997053681", 0, 0, { 6, 6, 6, 6 }, 26, 0,
	      NULL, NULL },
	    0, NONE, 0, NONE, 25, NONE, 6 },
	/* The PASS IAE ends in 39 days, before the contract: a prolongation to ask for. */
	{ { "Nadia", "Bouzid", "1985-07-19", "nadia.bouzid@example.org", "06 30 27 91 55",
	      "9 rue des Fossés, 23200 Aubusson", "2674410H", "france_travail",
	      "France Travail Aubusson", 0, 0, 0, "999994816023", 0, 0, { 6, 6, 6, 4 }, 26, 0, NULL,
	      NULL },
	    1, -700, 90, -600, NONE, NONE, 6 },
	/* Referred by the SPIP; the justice detail stays with the CIP. */
	{ { "Rachid", "Mansouri", "1983-02-11", NULL, "07 69 13 40 82",
	      "21 rue de Pommeil, 23000 Guéret", NULL, "spip", "SPIP de la Creuse", 0, 0, 0,
	      "999998530472", 0, 0, { 6, 6 }, 26, 0, NULL, NULL },
	    0, -215, 3, -200, NONE, NONE, 6 },
	/* Left two months ago for a permanent job: emploi durable. */
	{ { "Émilie", "Blanchard", "1992-10-27", "emilie.blanchard@example.org", "06 77 03 58 14",
	      "5 chemin des Prés, 23000 Glénic", "3519046A", "france_travail",
	      "France Travail Guéret", 0, 0, 0, "999992764109", 0, 0, { 6, 6, 6 }, 35, 0,
	      "emploi_durable", "CDI agent d'entretien des espaces verts — Ville de Guéret" },
	    1, -540, 4, -520, NONE, -60, 6 },
	/* Left three weeks ago for a qualifying training: sortie positive. */
	{ { "Yannick", "Le Gall", "1996-04-05", "yannick.legall@example.org", "06 21 96 47 30",
	      "8 rue du Stade, 23300 La Souterraine", "4083125L", "mission_locale",
	      "Mission locale de la Creuse", 0, 0, 0, "999995937264", 0, 0, { 6, 6 }, 26, 0,
	      "sortie_positive",
	      "Formation qualifiante CAPa Jardinier paysagiste — CFPPA de la Creuse, Ahun" },
	    0, -340, 6, -320, NONE, -21, 6 },
	/* Recruited, starts next Monday. */
	{ { "Inès", "Carvalho", "2003-08-22", "ines.carvalho@example.org", "07 14 85 62 09",
	      "12 rue Alexandre Guillon, 23000 Guéret", NULL, "mission_locale",
	      "Mission locale de la Creuse", 0, 0, 0, "999996609385", 0, 0, { 4 }, 26, 0, NULL,
	      NULL },
	    1, -12, 10, NEXT_MONDAY, NONE, NONE, 0 },
};

static const struct {
	int who;
	const char *category;
	int severity;
	const char *status;
	int shared, day;
	const char *detail;
} w_barriers[] = {
	{ 1, "mobility", 3, "in_progress", 1, -8,
	    "Pas de permis ; dépend de la ligne de bus 2, qui arrive à 8 h 10 quand l'équipe part "
	    "à 8 h. Covoiturage avec un collègue le matin." },
	{ 1, "childcare", 2, "identified", 0, -8,
	    "Deux enfants de 4 et 7 ans ; pas de solution de garde le mercredi. Demande de place "
	    "en accueil de loisirs déposée au CCAS." },
	{ 1, "digital", 2, "identified", 1, -8,
	    "Pas d'ordinateur, un smartphone seulement ; espace France Travail à activer." },
	{ 2, "health", 3, "in_progress", 1, -30,
	    "Lombalgie chronique : port de charges limité à 15 kg selon l'avis du médecin du "
	    "travail. Dossier RQTH déposé à la MDPH de la Creuse." },
	{ 2, "housing", 2, "identified", 0, -30,
	    "Hébergé chez sa sœur depuis sa séparation ; demande de logement social déposée." },
	{ 3, "mobility", 2, "resolved", 1, -115,
	    "Permis B obtenu ; véhicule prêté par la plateforme mobilité en attendant l'achat "
	    "d'une voiture." },
	{ 3, "basic_skills", 2, "in_progress", 1, -115,
	    "Difficultés en calcul pour les mesures et les dosages ; atelier savoirs de base le "
	    "jeudi après-midi." },
	{ 4, "finances", 3, "in_progress", 0, -235,
	    "Dettes de loyer et de crédit ; dossier de surendettement déposé à la Banque de "
	    "France, plan en cours d'instruction." },
	{ 4, "digital", 2, "in_progress", 1, -235,
	    "Pas d'adresse électronique ; accompagnement pour créer et utiliser son espace France "
	    "Travail." },
	{ 5, "childcare", 2, "resolved", 1, -405,
	    "Place en crèche obtenue à Guéret ; horaires compatibles avec le chantier." },
	{ 5, "language", 2, "in_progress", 1, -405,
	    "Français oral courant ; écrit à consolider : cours de français langue étrangère deux "
	    "fois par semaine." },
	{ 6, "mobility", 1, "resolved", 1, -680,
	    "Scooter réparé avec l'aide de la plateforme mobilité." },
	{ 7, "housing", 3, "resolved", 0, -580,
	    "Logement social obtenu à Aubusson après six mois en résidence sociale." },
	{ 7, "health", 1, "in_progress", 0, -580,
	    "Diabète de type 2 suivi par le médecin traitant ; pas de contre-indication au poste, "
	    "pauses régulières nécessaires." },
	{ 8, "justice", 2, "in_progress", 0, -190,
	    "Placement sous surveillance électronique jusqu'à la fin de l'année ; horaires de "
	    "sortie compatibles avec le chantier (7 h 30 – 18 h). Rendez-vous mensuel au SPIP." },
	{ 8, "administrative", 1, "resolved", 1, -190,
	    "Carte d'identité renouvelée et compte bancaire ouvert." },
	{ 9, "housing", 2, "resolved", 0, -500,
	    "Logement trop éloigné des chantiers ; déménagement à Glénic." },
	{ 10, "mobility", 2, "resolved", 1, -300,
	    "Pas de véhicule ; location solidaire d'un scooter." },
};

static const struct {
	int who, day;
	const char *kind, *text;
} w_observations[] = {
	{ 0, -3, "safety",
	    "Premier jour : a écouté les consignes de sécurité avec attention, EPI portés toute "
	    "la journée." },
	{ 0, -1, "punctuality", "À l'heure au dépôt les trois premiers jours." },
	{ 1, -12, "teamwork",
	    "S'est bien intégrée à l'équipe aménagement ; aide au chargement du camion." },
	{ 1, -5, "punctuality",
	    "Arrivée à 8 h 10 deux fois à cause du bus : a prévenu à chaque fois." },
	{ 2, -30, "quality",
	    "Tonte soignée des abords de la salle des fêtes ; bonnes finitions au rotofil." },
	{ 2, -20, "safety",
	    "A signalé de lui-même une lame de débroussailleuse fendue : très bon réflexe." },
	{ 2, -6, "attitude",
	    "Gêné en fin de journée de débroussaillage ; affecté à la tonte autoportée." },
	{ 3, -120, "autonomy",
	    "Demande encore validation à chaque étape de la plantation ; à encourager." },
	{ 3, -90, "quality",
	    "Massif de vivaces planté conformément au plan ; arrosage bien fait." },
	{ 3, -45, "autonomy", "A organisé seule le chantier de paillage avec deux collègues." },
	{ 3, -10, "teamwork", "Explique les gestes de plantation aux nouveaux arrivants." },
	{ 4, -240, "punctuality", "Toujours le premier au dépôt ; prépare le matériel." },
	{ 4, -180, "safety",
	    "A oublié ses protections auditives à la tronçonneuse : rappel fait sur place." },
	{ 4, -100, "quality", "Taille des haies régulière, bon coup d'œil." },
	{ 4, -30, "attitude",
	    "Bon contact avec les habitants pendant le chantier en centre-bourg." },
	{ 5, -400, "teamwork", "Discrète mais appliquée ; travaille bien en binôme." },
	{ 5, -300, "quality", "Désherbage manuel soigné des massifs de la mairie." },
	{ 5, -150, "autonomy",
	    "A conduit le fleurissement de la place avec une collègue, sans consigne "
	    "supplémentaire." },
	{ 5, -40, "attitude", "Très investie ; demande à apprendre la taille des arbustes." },
	{ 6, -600, "punctuality", "Plusieurs retards le lundi matin ; rappel du règlement." },
	{ 6, -400, "punctuality", "Ponctualité en nette progression depuis le dernier bilan." },
	{ 6, -200, "safety", "Balisage du chantier en bord de route correctement installé." },
	{ 6, -30, "autonomy",
	    "Mène seul un chantier de tonte de bout en bout ; prêt pour un poste en entreprise." },
	{ 7, -500, "quality",
	    "Plantation de la haie bocagère : rangs réguliers, paillage soigné." },
	{ 7, -250, "teamwork",
	    "Aide spontanément les nouveaux sur le ramassage et le chargement." },
	{ 7, -20, "autonomy", "Prépare le planning de la semaine avec l'encadrant." },
	{ 8, -190, "attitude", "Calme et appliqué ; respecte strictement les horaires." },
	{ 8, -90, "quality", "Abattage et évacuation des branches bien menés, chantier propre." },
	{ 9, -450, "quality", "Entretien des massifs du cimetière : travail minutieux." },
	{ 9, -200, "autonomy", "Encadre le binôme sur la taille des haies du lotissement." },
	{ 9, -90, "attitude",
	    "Prépare son entretien d'embauche : s'entraîne à décrire ses tâches aux collègues." },
	{ 10, -300, "teamwork", "Bonne entente dans l'équipe ; prend sa part du ramassage." },
	{ 10, -150, "quality", "Reconnaît déjà une trentaine de végétaux ; taille propre." },
	{ 10, -40, "attitude",
	    "Motivé par la formation CAPa ; révise la reconnaissance des végétaux aux pauses." },
};

static const struct {
	int who, day, deadline;
	const char *status, *text;
} w_goals[] = {
	{ 1, -8, 45, "open", "Trouver une solution de garde pour le mercredi" },
	{ 2, -12, 90, "open", "Obtenir la reconnaissance RQTH et adapter le poste" },
	{ 2, -12, 150, "open", "Trouver un logement autonome" },
	{ 3, -105, -40, "achieved", "Obtenir le permis B" },
	{ 3, -105, 60, "open", "Valider le CACES R482 catégorie A (mini-pelle)" },
	{ 4, -225, 90, "open", "Stabiliser le budget avec le plan de surendettement" },
	{ 4, -225, -20, "achieved", "Créer son espace France Travail et l'utiliser seul" },
	{ 5, -395, 30, "open", "Consolider le français écrit (niveau A2)" },
	{ 5, -250, -60, "achieved", "Réaliser une PMSMP chez un paysagiste" },
	{ 6, -680, -120, "achieved", "Suivre la formation Sauveteur secouriste du travail (SST)" },
	{ 6, -120, 20, "open",
	    "Préparer la sortie : CV, lettre et candidatures auprès des entreprises du paysage" },
	{ 7, -575, -300, "achieved", "Obtenir un logement autonome" },
	{ 7, -200, 50, "open", "Préparer une candidature d'agent d'entretien en collectivité" },
	{ 8, -175, 120, "open", "Construire un projet dans l'élagage et le bûcheronnage" },
	{ 9, -495, -60, "achieved",
	    "Décrocher un emploi durable dans l'entretien des espaces verts" },
	{ 10, -295, -21, "achieved", "Entrer en formation qualifiante CAPa Jardinier paysagiste" },
};

static const struct {
	int who;
	const char *kind;
	int planned, held; /* held: NONE when only planned */
	const char *content, *decisions, *shared;
} w_reviews[] = {
	{ 0, "entry", 18, NONE, NULL, NULL, NULL },
	{ 1, "entry", 10, NONE, NULL, NULL, NULL },
	{ 2, "entry", -14, -12,
	    "Thomas s'est bien intégré à l'équipe entretien. Il décrit des douleurs lombaires "
	    "après les journées de débroussaillage. Projet : un emploi stable dans l'entretien "
	    "des espaces verts, à temps plein.",
	    "Avis du médecin du travail sur les restrictions ; dossier RQTH ; recherche de "
	    "logement social.",
	    "Adapter les postes : éviter le port de charges lourdes, privilégier la tonte "
	    "autoportée et la taille. Point dans un mois." },
	{ 3, "entry", -107, -105,
	    "Lucie découvre les métiers du paysage et s'y plaît. Freins : permis, calcul.",
	    "Auto-école sociale ; atelier savoirs de base.",
	    "Lui confier progressivement les mesures et les dosages, avec vérification." },
	{ 3, "intermediate", 20, NONE, NULL, NULL, NULL },
	{ 4, "entry", -226, -225,
	    "Jean-Pierre a une longue expérience du bâtiment ; reprise d'activité après deux ans "
	    "sans emploi. Difficultés financières importantes.",
	    "Rendez-vous CCAS pour le budget ; dossier de surendettement.",
	    "Très fiable sur le matériel : peut former les nouveaux à l'entretien des machines." },
	{ 4, "intermediate", -100, -100,
	    "Progrès nets en taille ; situation financière en cours de règlement.",
	    "Renouvellement du contrat pour six mois.",
	    "Poursuivre la taille et l'entretien du matériel ; l'associer à l'accueil des "
	    "nouveaux." },
	{ 4, "intermediate", 30, NONE, NULL, NULL, NULL },
	{ 5, "entry", -396, -395,
	    "Fatou souhaite travailler dans le fleurissement. Français écrit à consolider ; garde "
	    "de son fils à organiser.",
	    "Cours de français deux fois par semaine ; demande de place en crèche.",
	    "Consignes écrites courtes, vérifier la compréhension à l'oral." },
	{ 5, "intermediate", -250, -250,
	    "Crèche obtenue ; progrès en français. Souhaite découvrir une entreprise.",
	    "PMSMP de deux semaines chez un paysagiste ; renouvellement du contrat.",
	    "Deux semaines d'absence du chantier pour la PMSMP." },
	{ 5, "intermediate", -70, -70,
	    "Retour de PMSMP très positif ; l'entreprise pourrait recruter au printemps.",
	    "Renouvellement du contrat ; candidature à préparer pour le printemps.",
	    "Lui confier la taille des arbustes pour compléter ses compétences." },
	{ 6, "entry", -680, -679,
	    "Kevin veut travailler en extérieur ; retards fréquents, scooter en panne.",
	    "Plateforme mobilité ; rappel du règlement sur les horaires.",
	    "Suivre la ponctualité semaine par semaine." },
	{ 6, "intermediate", -500, -500, "Ponctualité améliorée ; bonne technique en tonte.",
	    "Renouvellement du contrat ; formation SST.",
	    "Lui confier la conduite de la tondeuse autoportée." },
	{ 6, "intermediate", -300, -300, "SST obtenu ; autonome sur les chantiers de tonte.",
	    "Renouvellement du contrat ; PMSMP à chercher.",
	    "Lui confier un binôme de nouveaux arrivants." },
	{ 6, "intermediate", -120, -120,
	    "Prêt pour un emploi ; fin de parcours dans quatre mois (24 mois atteints).",
	    "Dernier renouvellement ; candidatures auprès des entreprises du paysage.",
	    "Attestation de compétences à préparer avec l'encadrant." },
	{ 7, "entry", -576, -575, "Nadia arrive d'une autre SIAE ; hébergée en résidence sociale.",
	    "Demande de logement social ; projet d'agent d'entretien en collectivité.",
	    "Peut encadrer le ramassage ; à l'aise avec les outils." },
	{ 7, "intermediate", -400, -400, "Logement obtenu à Aubusson ; très régulière.",
	    "Renouvellement du contrat.", "Lui confier la préparation du planning." },
	{ 7, "intermediate", -200, -200, "Projet confirmé : agent d'entretien en collectivité.",
	    "Renouvellement du contrat ; préparer le concours d'adjoint technique.",
	    "Élargir aux travaux de voirie légère." },
	{ 7, "exit", 40, NONE, NULL, NULL, NULL },
	{ 8, "entry", -176, -175,
	    "Rachid veut se former à l'élagage. Contraintes horaires liées à sa situation, "
	    "compatibles avec le chantier.",
	    "Projet élagage ; rendez-vous avec la conseillère SPIP.",
	    "Horaires stricts : fin de chantier au plus tard à 17 h 30." },
	{ 8, "intermediate", -40, -40, "Très régulier ; goût confirmé pour le bûcheronnage.",
	    "Renouvellement du contrat ; recherche d'une formation d'élagueur.",
	    "Lui confier la tronçonneuse sous la supervision de l'encadrant." },
	{ 9, "entry", -496, -495, "Émilie veut un emploi stable dans les espaces verts.",
	    "Objectif d'emploi durable ; candidatures aux collectivités.",
	    "Très autonome : peut encadrer un binôme." },
	{ 9, "intermediate", -300, -300, "Candidatures en cours ; entretien à la Ville de Guéret.",
	    "Renouvellement du contrat.", "Préparer avec elle la description de ses tâches." },
	{ 9, "exit", -66, -65, "Embauche en CDI confirmée par la Ville de Guéret.",
	    "Sortie vers un emploi durable ; attestation de compétences remise.",
	    "Dernier jour sur le chantier dans cinq jours." },
	{ 10, "entry", -296, -295, "Yannick hésite entre le paysage et la mécanique.",
	    "PMSMP en entreprise du paysage pour confirmer.", "Varier les chantiers." },
	{ 10, "intermediate", -150, -150, "Projet confirmé : CAPa Jardinier paysagiste.",
	    "Renouvellement du contrat ; dossier d'inscription au CFPPA.",
	    "Lui apprendre la reconnaissance des végétaux." },
	{ 10, "exit", -29, -28, "Admission au CFPPA confirmée ; financement validé.",
	    "Sortie vers une formation qualifiante ; attestation de compétences remise.",
	    "Dernier jour sur le chantier dans une semaine." },
};

static const struct {
	int who, day;
	const char *text;
} w_notes[] = {
	{ 0, -3,
	    "Accueil : signature du contrat et remise du livret d'accueil. Premier rendez-vous de "
	    "diagnostic fixé." },
	{ 1, -8,
	    "Diagnostic : contraintes de garde et de transport ; orientée vers le CCAS pour "
	    "l'accueil de loisirs." },
	{ 2, -25,
	    "Rendez-vous avec le médecin du travail obtenu. Thomas souhaite que l'encadrant sache "
	    "seulement qu'il doit éviter les charges lourdes." },
	{ 3, -60, "Code de la route obtenu ; examen de conduite dans trois semaines." },
	{ 4, -60,
	    "Rendez-vous avec la conseillère en économie sociale et familiale du CCAS ; budget "
	    "revu "
	    "ensemble." },
	{ 5, -90,
	    "Retour de PMSMP chez un paysagiste à Sainte-Feyre : très positif, l'entreprise "
	    "pourrait recruter au printemps." },
	{ 6, -45, "Candidatures envoyées à trois entreprises du paysage ; relance prévue." },
	{ 7, -15,
	    "Le PASS IAE se termine avant la fin du contrat : demande de prolongation à "
	    "préparer." },
	{ 8, -170, "Échange avec la conseillère SPIP : horaires de chantier validés." },
	{ 9, -62,
	    "Embauche confirmée par la Ville de Guéret (CDI, agent d'entretien des espaces "
	    "verts)." },
	{ 10, -35,
	    "Admission confirmée au CFPPA pour le CAPa Jardinier paysagiste ; financement de la "
	    "Région validé." },
	{ 11, -5,
	    "Entretien de recrutement avec la Mission locale : motivée par le travail en "
	    "extérieur ; démarrage lundi prochain." },
};

static int64_t
rel(struct gen *g, int days)
{
	return days == NONE ? NODAY : g->today + days;
}

static int
write_workshop(struct gen *g)
{
	int64_t ids[TR_NELEM(workshop)], exited[TR_NELEM(workshop)];
	struct person people[TR_NELEM(workshop)];
	size_t i;

	for (i = 0; i < TR_NELEM(workshop); i++) {
		const struct w_person *w = &workshop[i];
		struct person *p = &people[i];
		int total = 0;

		*p = w->p;
		p->eti = w->eti;
		p->cip = 0;
		for (int k = 0; k <= MAX_RENEWALS; k++)
			total += p->months[k];
		if (w->hired == NEXT_MONDAY)
			p->hired = cal_start_of_week(g->today) + 7;
		else if (w->end_in != NONE) /* hired so that the months end that day */
			p->hired = cal_add_months(g->today + w->end_in + 1, -total);
		else
			p->hired = rel(g, w->hired);
		p->pass_start = p->hired - w->pass_before_hire;
		p->opened = w->opened == NONE ? p->pass_start - 20 : rel(g, w->opened);
		p->exit_day = rel(g, w->exit);
		if ((ids[i] = write_person(g, p, &exited[i])) == -1 ||
		    add_welcome(g, ids[i], p, w->welcome, 0) == -1)
			return -1;
	}
	for (i = 0; i < TR_NELEM(w_barriers); i++) {
		int64_t day = rel(g, w_barriers[i].day);
		int64_t changed = strcmp(w_barriers[i].status, "identified") == 0
		    ? day
		    : min64(day + 45, g->today);
		if (add_barrier(g, ids[w_barriers[i].who], &people[w_barriers[i].who],
		        w_barriers[i].category, w_barriers[i].severity, w_barriers[i].status,
		        w_barriers[i].shared, w_barriers[i].detail, day, changed) == -1)
			return -1;
	}
	for (i = 0; i < TR_NELEM(w_observations); i++)
		if (add_observation(g, ids[w_observations[i].who], &people[w_observations[i].who],
		        rel(g, w_observations[i].day), w_observations[i].kind,
		        w_observations[i].text) == -1)
			return -1;
	for (i = 0; i < TR_NELEM(w_goals); i++) {
		int64_t deadline = rel(g, w_goals[i].deadline);
		int64_t changed = strcmp(w_goals[i].status, "open") == 0
		    ? rel(g, w_goals[i].day)
		    : min64(deadline, g->today);
		if (add_goal(g, ids[w_goals[i].who], w_goals[i].text, deadline, w_goals[i].status,
		        rel(g, w_goals[i].day), changed) == -1)
			return -1;
	}
	/* Professional goals the CIP shares with the ETI: they shape learning sessions. */
	if (put(g,
	        "UPDATE goals SET shared_with_eti = 1 WHERE text LIKE 'Valider le CACES%'"
	        " OR text = 'Obtenir le permis B'",
	        "") == -1)
		return -1;
	for (i = 0; i < TR_NELEM(w_reviews); i++)
		if (add_review(g, ids[w_reviews[i].who], &people[w_reviews[i].who],
		        w_reviews[i].kind, rel(g, w_reviews[i].planned), rel(g, w_reviews[i].held),
		        w_reviews[i].content, w_reviews[i].decisions, w_reviews[i].shared) == -1)
			return -1;
	for (i = 0; i < TR_NELEM(w_notes); i++)
		if (add_note(g, ids[w_notes[i].who], &people[w_notes[i].who],
		        rel(g, w_notes[i].day), w_notes[i].text) == -1)
			return -1;
	/*
	 * Records were written table by table, so each file's last contact is
	 * read back from them rather than tracked while writing.
	 */
	static const char last_sql[] =
	    "UPDATE employees SET last_contact_at = max(created_at,"
	    " coalesce((SELECT max(created_at) FROM observations WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(updated_at) FROM reviews WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(created_at) FROM notes WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(updated_at) FROM barriers WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(updated_at) FROM goals WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(created_at) FROM welcome_items WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(updated_at) FROM contracts WHERE employee_id = ?1), ''),"
	    " coalesce((SELECT max(created_at) FROM exits WHERE employee_id = ?1), '')),"
	    " updated_at = coalesce(?2, created_at) WHERE id = ?1";
	for (i = 0; i < TR_NELEM(workshop); i++) {
		char upd[32];
		if (exited[i])
			tr_rfc3339((time_t)exited[i], upd, sizeof(upd));
		if (put(g, last_sql, "It", ids[i], exited[i] ? upd : NULL) == -1)
			return -1;
	}
	return 0;
}

/* ---- generated pathways ---- */

static const char *const first_names[] = { "Adrien", "Agnès", "Ahmed", "Alexandre", "Alice",
	"Amandine", "Amine", "Anaïs", "Antoine", "Aurélie", "Bilal", "Brigitte", "Camille",
	"Catherine", "Christophe", "Coralie", "Damien", "David", "Dylan", "Elsa", "Emma", "Éric",
	"Fabien", "Farida", "Florian", "Gaëlle", "Grégory", "Hakim", "Hugo", "Jessica", "Jordan",
	"Karima", "Laetitia", "Laurent", "Léa", "Ludovic", "Mamadou", "Manon", "Marc", "Marie",
	"Marine", "Mickaël", "Mohamed", "Morgane", "Nicolas", "Noémie", "Omar", "Pauline",
	"Philippe", "Quentin", "Romain", "Sabrina", "Sébastien", "Sofiane", "Sylvie", "Tony",
	"Valérie", "Vanessa", "Wilfried", "Yasmina" };
static const char *const last_names[] = { "André", "Arnaud", "Aubry", "Bailly", "Barbier", "Benoît",
	"Bertrand", "Blanc", "Boyer", "Brunet", "Carré", "Chevalier", "Clément", "Colin",
	"Coulibaly", "Da Silva", "Denis", "Diarra", "Dupuis", "Durand", "Fleury", "Fontaine",
	"Gauthier", "Gérard", "Girard", "Guérin", "Hamidi", "Henry", "Jacob", "Joly", "Lacroix",
	"Laine", "Leclerc", "Lemoine", "Leroy", "Lopez", "Martin", "Masson", "Mathieu", "Mercier",
	"Meyer", "Moulin", "Muller", "Nicolas", "Noël", "Pereira", "Picard", "Poirier", "Prévost",
	"Rey", "Richard", "Rivière", "Robin", "Roger", "Rousseau", "Roux", "Sanchez", "Simon",
	"Traoré", "Vincent" };
static const char *const streets[] = { "rue des Tilleuls", "rue de la Gare",
	"avenue de la "
	"République",
	"rue Victor Hugo", "place du Marché", "chemin des Prés", "rue des Écoles",
	"allée des Acacias", "rue du Moulin", "impasse des Genêts", "route de Limoges",
	"rue Pasteur" };
static const char *const towns[] = { "23000 Guéret", "23000 Sainte-Feyre", "23200 Aubusson",
	"23300 La Souterraine", "23400 Bourganeuf", "23150 Ahun", "23320 Saint-Vaury",
	"23800 Dun-le-Palestel", "23600 Boussac", "23000 Saint-Fiel" };

static const struct {
	const char *kind, *name;
	int weight;
} prescribers[] = {
	{ "france_travail", "France Travail Guéret", 30 },
	{ "france_travail", "France Travail Aubusson", 12 },
	{ "mission_locale", "Mission locale de la Creuse", 16 },
	{ "conseil_departemental", "Conseil départemental de la Creuse (RSA)", 12 },
	{ "cap_emploi", "Cap emploi Creuse", 8 },
	{ "plie", "PLIE du Grand Guéret", 6 },
	{ "spip", "SPIP de la Creuse", 5 },
	{ "ccas", "CCAS de Guéret", 4 },
	{ "chrs", "CHRS Le Relais", 4 },
	{ "autre", "Association d'aide aux réfugiés", 3 },
};

static const struct {
	const char *category, *destination;
	int weight;
} exit_kinds[] = {
	{ "emploi_durable", "CDI agent d'entretien des espaces verts — collectivité", 8 },
	{ "emploi_durable", "CDI ouvrier paysagiste — entreprise du paysage", 8 },
	{ "emploi_durable", "CDD de 8 mois, agent technique — commune", 5 },
	{ "emploi_durable", "Création d'une micro-entreprise d'entretien de jardins", 2 },
	{ "emploi_transition", "CDD de 3 mois, saisonnier en maraîchage", 8 },
	{ "emploi_transition", "Mission d'intérim de 2 mois, manutention", 7 },
	{ "emploi_transition", "Parcours emploi compétences — commune", 5 },
	{ "sortie_positive", "Formation qualifiante CAPa Jardinier paysagiste — CFPPA", 9 },
	{ "sortie_positive", "Embauche en entreprise d'insertion", 6 },
	{ "sortie_positive", "Formation titre professionnel Agent de propreté et d'hygiène", 5 },
	{ "autre", "Fin de contrat, recherche d'emploi en cours", 18 },
	{ "autre", "Démission", 5 },
	{ "exclue", "Arrêt maladie de longue durée", 3 },
	{ "exclue", "Déménagement hors du département", 3 },
};

static const struct {
	const char *category;
	int sensitive;
	const char *detail[3];
} barrier_texts[] = {
	{ "mobility", 0,
	    { "Pas de permis ; dépend des horaires de bus.",
	        "Permis suspendu ; trajets en covoiturage avec un collègue.",
	        "Vélo seulement ; chantiers éloignés difficiles d'accès." } },
	{ "housing", 0,
	    { "Hébergé chez un proche ; demande de logement social déposée.",
	        "Logement insalubre signalé ; relogement demandé.",
	        "Hébergement en CHRS, sortie prévue dans six mois." } },
	{ "health", 1,
	    { "Lombalgie chronique : port de charges limité selon le médecin du travail.",
	        "Suivi en addictologie au CSAPA, rendez-vous mensuels.",
	        "Reconnaissance RQTH en cours ; grande fatigue en fin de semaine." } },
	{ "childcare", 0,
	    { "Deux enfants en bas âge ; pas de solution le mercredi.",
	        "Famille monoparentale ; garde périscolaire à trouver.",
	        "Place en crèche demandée ; réponse attendue." } },
	{ "language", 0,
	    { "Français oral correct ; écrit à consolider (cours de FLE).",
	        "Comprend les consignes simples ; interprète utile pour les démarches.",
	        "Apprend le français depuis un an ; progrès rapides." } },
	{ "basic_skills", 0,
	    { "Difficultés à lire les fiches de poste ; atelier savoirs de base.",
	        "Calcul des dosages difficile ; accompagnement sur le chantier.",
	        "Écrit peu ; préfère les consignes orales." } },
	{ "digital", 0,
	    { "Pas d'adresse électronique ; accompagnement aux démarches en ligne.",
	        "Smartphone seulement ; espace France Travail à activer.",
	        "Ne sait pas envoyer une pièce jointe ; atelier numérique." } },
	{ "finances", 0,
	    { "Dettes de loyer ; dossier de surendettement en cours.",
	        "Compte bancaire bloqué ; accompagnement budgétaire au CCAS.",
	        "Ressources en attente de l'ouverture des droits CAF." } },
	{ "administrative", 0,
	    { "Titre de séjour à renouveler avant la fin du contrat.",
	        "Carte d'identité périmée ; rendez-vous en mairie pris.",
	        "Dossier CAF incomplet ; pièces à réunir." } },
	{ "justice", 1,
	    { "Suivi SPIP : obligation de soins et pointage mensuel.",
	        "Travail d'intérêt général à terminer ; horaires à concilier avec le chantier.",
	        "Surveillance électronique ; horaires de sortie compatibles." } },
};

static const struct {
	const char *kind, *text[3];
} observation_texts[] = {
	{ "punctuality",
	    { "Arrivé à l'heure toute la semaine, prêt au départ du camion.",
	        "Deux retards cette semaine (bus manqué) ; a prévenu l'équipe.",
	        "Ponctualité en progrès depuis le dernier point." } },
	{ "safety",
	    { "Porte ses EPI sans rappel ; vérifie la débroussailleuse avant usage.",
	        "A retiré ses lunettes pendant le débroussaillage : rappel fait sur place.",
	        "Balisage du chantier en bord de route correctement installé." } },
	{ "teamwork",
	    { "Aide spontanément les nouveaux au ramassage et au chargement.",
	        "Tension avec un collègue sur la répartition des tâches ; apaisée en fin de "
	        "journée.",
	        "Bonne communication avec son binôme pendant la taille des haies." } },
	{ "quality",
	    { "Finitions soignées sur la tonte des abords de l'école.",
	        "Taille des haies irrégulière : reprise ensemble, à retravailler.",
	        "Massif planté conformément au plan, arrosage bien fait." } },
	{ "autonomy",
	    { "Organise seul le chargement du matériel en début de journée.",
	        "A mené le ramassage des feuilles sans consigne supplémentaire.",
	        "Demande encore validation à chaque étape ; à encourager." } },
	{ "attitude",
	    { "Très investi, pose des questions sur les techniques de taille.",
	        "Fatigué en fin de semaine, reste courtois avec les clients.",
	        "Bon contact avec les habitants pendant le chantier en centre-bourg." } },
};

static const char *const goal_texts[] = { "Obtenir le permis B",
	"Valider le CACES R482 catégorie A (mini-pelle)", "Trouver un logement autonome",
	"Suivre la formation Sauveteur secouriste du travail (SST)",
	"Réaliser une PMSMP chez un paysagiste", "Construire un CV et une lettre de motivation",
	"Régulariser le dossier CAF", "Améliorer l'expression écrite en français",
	"Définir un projet professionnel dans les métiers du paysage",
	"Mettre en place une solution de garde pour les enfants",
	"Accéder à une formation qualifiante",
	"Créer son espace France Travail et l'utiliser seul" };

static const char *const note_texts[] = {
	"Rendez-vous de suivi : point sur les démarches administratives en cours.",
	"Accompagnement à l'actualisation du dossier France Travail.",
	"Échange téléphonique avec le prescripteur : point d'étape transmis.",
	"Préparation d'une PMSMP en entreprise du paysage.",
	"Aide à la rédaction du CV ; à compléter avec les compétences du chantier.",
	"Orientation vers l'épicerie solidaire en attendant l'ouverture des droits CAF.",
	"Point sur la recherche de logement : dossier déposé auprès du bailleur social.",
	"Inscription à l'auto-école sociale, financement en cours.",
	"Simulation d'entretien d'embauche ; bonne présentation, parler davantage de ses "
	"réussites.",
	"Rendez-vous annulé par le salarié, reprogrammé la semaine suivante.",
};

static const struct {
	const char *content, *decisions, *shared;
} review_texts[3][2] = {
	{ { "Bilan d'entrée : parcours, attentes et premières semaines sur le chantier.",
	      "Objectifs fixés ; prochain bilan dans trois mois.",
	      "Consignes courtes et vérifiées ; point hebdomadaire avec l'encadrant." },
	    { "Bilan d'entrée : projet à construire ; freins identifiés et démarches engagées.",
	        "Diagnostic complété ; accompagnement renforcé le premier mois.",
	        "Varier les chantiers pour aider à définir le projet." } },
	{ { "Bilan intermédiaire : progrès techniques nets ; démarches en bonne voie.",
	      "Renouvellement du contrat proposé ; objectifs ajustés.",
	      "Confier davantage d'autonomie sur les chantiers de tonte et de taille." },
	    { "Bilan intermédiaire : assiduité irrégulière ; freins encore présents.",
	        "Objectifs recentrés ; point mensuel avec la CIP.",
	        "Suivre l'assiduité semaine par semaine." } },
	{ { "Bilan de sortie : compétences acquises, attestation de compétences remise.",
	      "Sortie préparée ; suivi proposé pendant trois mois.",
	      "Dernière semaine sur le chantier : passage de relais dans l'équipe." },
	    { "Bilan de sortie : parcours complet, projet en cours.",
	        "Attestation de compétences remise ; orientation vers le prescripteur.",
	        "Dernière semaine sur le chantier." } },
};

static const int hours_choices[] = { 20, 24, 26, 26, 26, 26, 30, 35, 35 };
static const int first_terms[] = { 4, 4, 6, 6, 6, 6, 8, 12 };
static const int renewal_terms[] = { 4, 6, 6, 6 };

/* ASCII for an e-mail address: the accents of the names above, lowercase. */
static void
ascii_name(const char *in, char *out, size_t size)
{
	static const struct {
		const char *from, *to;
	} map[] = { { "é", "e" }, { "è", "e" }, { "ê", "e" }, { "ë", "e" }, { "É", "e" },
		{ "à", "a" }, { "â", "a" }, { "ï", "i" }, { "î", "i" }, { "ô", "o" }, { "ç", "c" },
		{ "ü", "u" }, { "û", "u" } };
	size_t n = 0;

	while (*in != '\0' && n + 1 < size) {
		size_t k;
		for (k = 0; k < TR_NELEM(map); k++)
			if (strncmp(in, map[k].from, strlen(map[k].from)) == 0)
				break;
		if (k < TR_NELEM(map)) {
			out[n++] = map[k].to[0];
			in += strlen(map[k].from);
		} else if (*in == ' ' || *in == '\'') {
			out[n++] = '-';
			in++;
		} else {
			out[n++] = (*in >= 'A' && *in <= 'Z') ? (char)(*in - 'A' + 'a') : *in;
			in++;
		}
	}
	out[n] = '\0';
}

static int
weighted(struct gen *g, const int *weights, int n)
{
	int total = 0, r;

	for (int i = 0; i < n; i++)
		total += weights[i];
	r = rnd(g, total);
	for (int i = 0; i < n; i++)
		if ((r -= weights[i]) < 0)
			return i;
	return n - 1;
}

static int
write_generated(struct gen *g, int index, int years, uint64_t seed)
{
	char birth[CAL_DATE_LEN], email[256], phone[32], address[160], ft[16], pass[16];
	char fa[64], la[64];
	int weights[32];
	struct contract_plan c;
	struct person p;
	int64_t id, until, exited_at = 0;
	size_t i;

	/* Each person from its own stream: the same seed gives the same person at any N. */
	g->rng = seed ^ (0x632be59bd9b4e019ULL * (uint64_t)(index + 1));
	next_u64(&g->rng);
	memset(&p, 0, sizeof(p));
	p.first = PICK(g, first_names);
	p.last = PICK(g, last_names);
	p.hired = g->today + 14 - rnd(g, years * 365 + 14);
	cal_format(p.hired - 365 * between(g, 18, 60) - rnd(g, 365), birth, sizeof(birth));
	p.birth = birth;
	if (chance(g, 60)) {
		ascii_name(p.first, fa, sizeof(fa));
		ascii_name(p.last, la, sizeof(la));
		snprintf(email, sizeof(email), "%s.%s%d@example.org", fa, la, index % 97);
		p.email = email;
	}
	/* One draw per statement: the order of a call's arguments is not fixed in C. */
	int digits = rnd(g, 100000000), number = between(g, 1, 60);
	snprintf(phone, sizeof(phone), "0%d %02d %02d %02d %02d", 6 + digits % 2,
	    digits / 1000000 % 100, digits / 10000 % 100, digits / 100 % 100, digits % 100);
	p.phone = chance(g, 90) ? phone : NULL;
	const char *street = PICK(g, streets);
	snprintf(address, sizeof(address), "%d %s, %s", number, street, PICK(g, towns));
	p.address = address;
	int ftn = rnd(g, 10000000);
	snprintf(ft, sizeof(ft), "%07d%c", ftn, 'A' + rnd(g, 26));
	p.ft_id = chance(g, 70) ? ft : NULL;
	for (i = 0; i < TR_NELEM(prescribers); i++)
		weights[i] = prescribers[i].weight;
	i = (size_t)weighted(g, weights, (int)TR_NELEM(prescribers));
	p.prescriber_kind = prescribers[i].kind;
	p.prescriber_name = prescribers[i].name;
	p.eti = rnd(g, g->neti);
	p.cip = rnd(g, g->ncip);
	p.pass_start = min64(p.hired - rnd(g, 31), g->today);
	p.opened = p.pass_start - between(g, 5, 40);
	/* 99999 and 7 digits, distinct for every index below ten million. */
	snprintf(pass, sizeof(pass), "99999%07llu",
	    (unsigned long long)(((uint64_t)index * 7919 + seed % 10000000) % 10000000));
	p.pass_number = pass;
	p.months[0] = PICK(g, first_terms);
	for (int k = 1, n = rnd(g, 4); k <= n; k++)
		p.months[k] = PICK(g, renewal_terms);
	p.hours = PICK(g, hours_choices);
	p.exit_day = NODAY;

	/* Where the pathway is today: running, ended at its term, or broken off. */
	plan_contract(g, &p, &c);
	if (p.hired <= g->today) {
		int64_t broke = p.hired + 30 + rnd(g, (int)max64(1, c.end - p.hired - 30));
		if (chance(g, 12) && broke <= g->today && broke < c.end) {
			p.exit_day = broke;
			p.exit_category = chance(g, 75) ? "autre" : "exclue";
			p.exit_destination = strcmp(p.exit_category, "autre") == 0
			    ? "Démission"
			    : "Arrêt maladie de longue durée";
		} else if (c.end < g->today) {
			p.exit_day = c.end;
			for (i = 0; i < TR_NELEM(exit_kinds); i++)
				weights[i] = exit_kinds[i].weight;
			i = (size_t)weighted(g, weights, (int)TR_NELEM(exit_kinds));
			p.exit_category = exit_kinds[i].category;
			p.exit_destination = exit_kinds[i].destination;
		}
		plan_contract(g, &p, &c);
	}
	if ((id = write_person(g, &p, &exited_at)) == -1)
		return -1;
	if (p.hired > g->today) {
		if (add_note(g, id, &p, min64(p.opened + 10, g->today),
		        "Entretien de recrutement : motivé par le travail en extérieur ; démarrage "
		        "prévu.") == -1)
			return -1;
		return close_person(g, id, 0);
	}
	until = min64(g->today, p.exit_day != NODAY ? p.exit_day : c.end);
	if (add_welcome(g, id, &p, 6, rnd(g, 20)) == -1)
		return -1;

	/* Diagnosis: one to four barriers, in the first weeks. */
	int nb = between(g, 1, 4), used = 0;
	for (int b = 0; b < nb; b++) {
		int k = rnd(g, (int)TR_NELEM(barrier_texts));
		if (used & (1 << k))
			continue;
		used |= 1 << k;
		int64_t day = min64(p.hired + between(g, 5, 30), until);
		int64_t age = g->today - day;
		const char *status = age > 240 ? (chance(g, 70) ? "resolved" : "in_progress")
		    : age > 60                 ? (chance(g, 60) ? "in_progress" : "identified")
		                               : "identified";
		int shared = chance(g, barrier_texts[k].sensitive ? 25 : 55);
		int severity = between(g, 1, 4);
		const char *detail = barrier_texts[k].detail[rnd(g, 3)];
		int64_t changed = strcmp(status, "identified") == 0
		    ? day
		    : min64(day + between(g, 30, 200), until);
		if (add_barrier(g, id, &p, barrier_texts[k].category, severity, status, shared,
		        detail, day, changed) == -1)
			return -1;
	}

	/* Reviews: entry within the first month, then every three to six months. */
	int64_t entry = p.hired + between(g, 18, 28), next;
	int good = chance(g, 70) ? 0 : 1;
	if (add_review(g, id, &p, "entry", entry, entry <= until ? entry : NODAY,
	        review_texts[0][good].content, review_texts[0][good].decisions,
	        review_texts[0][good].shared) == -1)
		return -1;
	/* Goals, agreed at the entry review. */
	for (int k = 0, n = between(g, 1, 3); k < n && entry <= g->today; k++) {
		int64_t deadline = entry + between(g, 60, 240);
		const char *status = "open";
		if (deadline < g->today)
			status = chance(g, 65) ? "achieved" : chance(g, 50) ? "abandoned" : "open";
		if (add_goal(g, id, goal_texts[rnd(g, (int)TR_NELEM(goal_texts))], deadline, status,
		        entry,
		        strcmp(status, "open") == 0 ? entry : min64(deadline, g->today)) == -1)
			return -1;
	}
	int64_t last_day = p.exit_day != NODAY ? p.exit_day : c.end;
	for (next = entry + between(g, 90, 180); next < last_day - 30;
	     next += between(g, 90, 180)) {
		good = chance(g, 70) ? 0 : 1;
		if (add_review(g, id, &p, "intermediate", next, next <= g->today ? next : NODAY,
		        review_texts[1][good].content, review_texts[1][good].decisions,
		        review_texts[1][good].shared) == -1)
			return -1;
		if (next > g->today)
			break; /* only the next one is planned */
	}
	/* The exit review, held before an exit, or planned when the end is near. */
	if (p.exit_day != NODAY || (c.end - g->today <= 60 && chance(g, 70))) {
		int64_t day = last_day - between(g, 7, 21);
		good = strcmp(p.exit_category ? p.exit_category : "", "autre") == 0 ? 1 : 0;
		if (day > p.hired &&
		    add_review(g, id, &p, "exit", day, day <= g->today ? day : NODAY,
		        review_texts[2][good].content, review_texts[2][good].decisions,
		        review_texts[2][good].shared) == -1)
			return -1;
	}

	/* The ETI's observations every few weeks, the CIP's notes every month or two. */
	for (int64_t day = p.hired + between(g, 3, 14); day <= until; day += between(g, 10, 30)) {
		int k = rnd(g, (int)TR_NELEM(observation_texts));
		if (add_observation(g, id, &p, day, observation_texts[k].kind,
		        observation_texts[k].text[rnd(g, 3)]) == -1)
			return -1;
	}
	for (int64_t day = p.opened + between(g, 5, 15); day <= until; day += between(g, 25, 60))
		if (add_note(g, id, &p, day, PICK(g, note_texts)) == -1)
			return -1;
	return close_person(g, id, exited_at);
}

/* ---- the database ---- */

static int
write_staff(
    struct gen *g, const struct demo_options *o, int64_t since, int nextra_cip, int nextra_eti)
{
	int total = (int)TR_NELEM(core_staff) + nextra_cip + nextra_eti;
	int64_t t = stamp(g, since, 9, 0);

	g->ncip = 1 + nextra_cip;
	g->neti = 2 + nextra_eti;
	g->cip = calloc((size_t)g->ncip, sizeof(*g->cip));
	g->eti = calloc((size_t)g->neti, sizeof(*g->eti));
	g->cip_name = calloc((size_t)g->ncip, sizeof(*g->cip_name));
	g->eti_name = calloc((size_t)g->neti, sizeof(*g->eti_name));
	g->team = calloc((size_t)g->neti, sizeof(*g->team));
	if (!g->cip || !g->eti || !g->cip_name || !g->eti_name || !g->team) {
		snprintf(g->err, sizeof(g->err), "mémoire insuffisante");
		return -1;
	}
	for (int k = 0; k < total; k++) {
		char account[32], user[48], name[96], email[256], team[96];
		const char *role;
		int icip = -1, ieti = -1;

		if (k < (int)TR_NELEM(core_staff)) {
			const struct staff_seed *s = &core_staff[k];
			tr_strlcpy(account, s->account, sizeof(account));
			tr_strlcpy(name, s->name, sizeof(name));
			tr_strlcpy(email, s->email, sizeof(email));
			tr_strlcpy(team, s->team ? s->team : "", sizeof(team));
			if (k == 1)
				icip = 0;
			else if (k >= 2)
				ieti = k - 2;
		} else {
			int x = k - (int)TR_NELEM(core_staff);
			const char *f = staff_first[(x * 5) % TR_NELEM(staff_first)];
			const char *l = staff_last[(x * 7 + x / 17) % TR_NELEM(staff_last)];
			char fa[64], la[64];
			if (x < nextra_cip) {
				icip = 1 + x;
				snprintf(account, sizeof(account), "cip%d", icip + 1);
			} else {
				ieti = 2 + x - nextra_cip;
				snprintf(account, sizeof(account), "eti%d", ieti + 1);
				int round = ieti / (int)TR_NELEM(team_names);
				if (round == 0)
					snprintf(team, sizeof(team), "%s",
					    team_names[ieti % TR_NELEM(team_names)]);
				else
					snprintf(team, sizeof(team), "%s %d",
					    team_names[ieti % TR_NELEM(team_names)], round + 1);
			}
			snprintf(name, sizeof(name), "%s %s", f, l);
			ascii_name(f, fa, sizeof(fa));
			ascii_name(l, la, sizeof(la));
			snprintf(email, sizeof(email), "%s.%s.%s@example.org", fa, la, account);
		}
		role = icip >= 0 ? "cip" : ieti >= 0 ? "eti" : "coordinator";
		snprintf(user, sizeof(user), "demo-%s", account);
		for (size_t a = 0; a < o->nas; a++) {
			const char *want =
			    strcmp(o->as[a].account, "eti") == 0 ? "eti1" : o->as[a].account;
			if (strcmp(want, account) == 0)
				tr_strlcpy(user, o->as[a].unix_user, sizeof(user));
		}
		int64_t id = put(g, sql_staff, "ttttT", name, user, role, email, t);
		if (id == -1)
			return -1;
		if (icip >= 0) {
			g->cip[icip] = id;
			g->cip_name[icip] = strdup(name);
			if (g->cip_name[icip] == NULL)
				goto nomem;
		} else if (ieti >= 0) {
			g->eti[ieti] = id;
			g->eti_name[ieti] = strdup(name);
			g->team[ieti] = strdup(team);
			if (g->eti_name[ieti] == NULL || g->team[ieti] == NULL)
				goto nomem;
		} else
			g->coordinator = id;
	}
	return 0;
nomem:
	snprintf(g->err, sizeof(g->err), "mémoire insuffisante");
	return -1;
}

static void
gen_free(struct gen *g)
{
	for (int i = 0; i < g->ncip && g->cip_name; i++)
		free(g->cip_name[i]);
	for (int i = 0; i < g->neti; i++) {
		if (g->eti_name)
			free(g->eti_name[i]);
		if (g->team)
			free(g->team[i]);
	}
	free(g->cip);
	free(g->eti);
	free(g->cip_name);
	free(g->eti_name);
	free(g->team);
}

const char *
demo_account_name(const char *account)
{
	if (account != NULL && strcmp(account, "eti") == 0)
		account = "eti1";
	for (size_t i = 0; account != NULL && i < TR_NELEM(core_staff); i++)
		if (strcmp(core_staff[i].account, account) == 0)
			return core_staff[i].name;
	return NULL;
}

/* The --as mappings: known accounts, valid and distinct Unix users. */
static int
check_as(const struct demo_options *o, int ncip, int neti, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->nas; i++) {
		const char *a = o->as[i].account, *u = o->as[i].unix_user, *why;
		int n = 0;
		char tail;

		if (strcmp(a, "coordinator") == 0 || strcmp(a, "cip") == 0 || strcmp(a, "eti") == 0)
			n = 1;
		else if (sscanf(a, "cip%d%c", &n, &tail) == 1)
			n = n >= 2 && n <= ncip;
		else if (sscanf(a, "eti%d%c", &n, &tail) == 1)
			n = n >= 1 && n <= neti;
		else
			n = 0;
		if (!n) {
			snprintf(err, errlen,
			    "--as %s : ce compte n'existe pas dans la démo (coordinator, cip, "
			    "eti1, eti2%s)",
			    a,
			    ncip > 1 || neti > 2 ? ", et cip2... eti3... d'un atelier généré" : "");
			return -1;
		}
		if ((why = valid_unix_user(u)) != NULL) {
			snprintf(
			    err, errlen, "--as %s=%s : nom d'utilisateur refusé (%s)", a, u, why);
			return -1;
		}
		if (strncmp(u, "demo-", 5) == 0) {
			snprintf(err, errlen,
			    "--as %s=%s : les noms demo-* sont réservés aux comptes de la démo", a,
			    u);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			const char *b = o->as[j].account;
			int same = strcmp(a, b) == 0 ||
			    (strcmp(a, "eti") == 0 && strcmp(b, "eti1") == 0) ||
			    (strcmp(a, "eti1") == 0 && strcmp(b, "eti") == 0);
			if (same || strcmp(o->as[j].unix_user, u) == 0) {
				snprintf(err, errlen, "--as : %s donné deux fois", same ? a : u);
				return -1;
			}
		}
	}
	return 0;
}

/* Claim the file: create it, or accept an existing empty one. */
static int
claim(const char *path, char *err, size_t errlen)
{
	char wal[4096];
	struct stat sb;
	int fd;

	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal)) {
		snprintf(err, errlen, "%s : chemin trop long", path);
		return -1;
	}
	if (stat(wal, &sb) == 0 && sb.st_size > 0) {
		snprintf(err, errlen,
		    "la base %s est ouverte ou contient des données (%s existe) : la démo "
		    "ne remplit qu'une base neuve et vide",
		    path, wal);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) != -1) {
		close(fd);
		return 1; /* created */
	}
	if (errno != EEXIST) {
		snprintf(err, errlen, "%s : %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s : %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > 0) {
		snprintf(err, errlen,
		    "%s existe déjà et n'est pas vide : la démo ne remplit qu'une base neuve "
		    "et vide (supprimez-la, ou donnez un autre chemin)",
		    path);
		return -1;
	}
	return 0;
}

/* Give the path back as it was: removed when the demo created it, else empty. */
static void
unclaim(const char *path, int created)
{
	char p[4096];

	if (created)
		unlink(path);
	else if (truncate(path, 0) == -1)
		fprintf(stderr, "tremplinctl demo : %s : %s\n", path, strerror(errno));
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static long
count(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
count_all(struct db *db, struct demo_counts *n)
{
	n->structures = count(db, "SELECT count(*) FROM structures");
	n->staff = count(db, "SELECT count(*) FROM staff");
	n->employees = count(db, "SELECT count(*) FROM employees");
	n->candidates = count(db, "SELECT count(*) FROM employees WHERE status = 'candidate'");
	n->in_pathway = count(db, "SELECT count(*) FROM employees WHERE status = 'in_pathway'");
	n->exited = count(db, "SELECT count(*) FROM employees WHERE status = 'exited'");
	n->contracts = count(db, "SELECT count(*) FROM contracts");
	n->renewals = count(db, "SELECT count(*) FROM contract_renewals");
	n->passes = count(db, "SELECT count(*) FROM passes");
	n->welcome = count(db, "SELECT count(*) FROM welcome_items");
	n->barriers = count(db, "SELECT count(*) FROM barriers");
	n->observations = count(db, "SELECT count(*) FROM observations");
	n->goals = count(db, "SELECT count(*) FROM goals");
	n->reviews = count(db, "SELECT count(*) FROM reviews");
	n->notes = count(db, "SELECT count(*) FROM notes");
	n->exits = count(db, "SELECT count(*) FROM exits");
}

int
demo_create(const struct demo_options *o, struct demo_counts *counts, char *err, size_t errlen)
{
	const struct db_module *const modules[] = { &core_module, kernel_db_module(),
		demo_skills_module() };
	struct gen g;
	char annexe[32], why[512];
	int created, rc = -1, extra_cip = 0, extra_eti = 0, y, m, d;
	int64_t since;

	memset(&g, 0, sizeof(g));
	memset(counts, 0, sizeof(*counts));
	if (o->employees < 0 || o->employees > 1000000 || o->years < 1 || o->years > 10) {
		snprintf(err, errlen, "--employees attend 1 à 1000000 et --years 1 à 10");
		return -1;
	}
	if (o->employees > 0) {
		extra_eti = o->employees / 36 > 2 ? o->employees / 36 - 2 : 0;
		extra_cip = o->employees / 90 > 1 ? o->employees / 90 - 1 : 0;
	}
	if (check_as(o, 1 + extra_cip, 2 + extra_eti, err, errlen) == -1)
		return -1;
	if ((created = claim(o->database, err, errlen)) == -1)
		return -1;
	if (db_open(o->database, &g.db, err, errlen) == -1)
		goto out;
	if (db_migrate(g.db, modules, TR_NELEM(modules), why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s : %s", o->database, why);
		goto out;
	}
	g.now = (int64_t)tr_now();
	g.today = cal_paris_day(tr_now_ms());
	g.rng = o->seed;

	since = o->employees > 0 ? g.today - o->years * 365 - 120 : g.today - 800;
	cal_to_ymd(g.today, &y, &m, &d);
	/* The annexe of this year: kind, département 023, year, number, amendment. */
	snprintf(annexe, sizeof(annexe), "ACI023%02d0117A0M0", y % 100);
	if (db_begin(g.db) == -1) {
		snprintf(err, errlen, "%s : impossible de commencer une transaction", o->database);
		goto out;
	}
	if ((g.structure = put(&g, sql_structure, "tttT", structure_name, structure_siret, annexe,
	         stamp(&g, since, 9, 0))) == -1 ||
	    write_staff(&g, o, since, extra_cip, extra_eti) == -1)
		goto fail;
	if (o->employees == 0) {
		g.rng = 0x5eed;
		if (write_workshop(&g) == -1 ||
		    demo_skills(g.db, g.today, g.err, sizeof(g.err)) == -1)
			goto fail;
	} else {
		for (int i = 0; i < o->employees; i++) {
			if (write_generated(&g, i, o->years, o->seed) == -1)
				goto fail;
			if ((i + 1) % BATCH == 0 &&
			    (db_commit(g.db) == -1 || db_begin(g.db) == -1)) {
				snprintf(g.err, sizeof(g.err), "commit: %s",
				    sqlite3_errmsg(db_handle(g.db)));
				goto fail;
			}
		}
	}
	if (db_commit(g.db) == -1) {
		snprintf(g.err, sizeof(g.err), "commit: %s", sqlite3_errmsg(db_handle(g.db)));
		goto fail;
	}
	if (o->employees == 0 &&
	    demo_production(g.db, g.structure, g.today, g.err, sizeof(g.err)) == -1)
		goto fail;
	count_all(g.db, counts);
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "%s : %s", o->database, g.err);
	db_rollback(g.db);
out:
	db_close(g.db);
	gen_free(&g);
	/* Leave nothing half-filled: the path is free for another try. */
	if (rc == -1)
		unclaim(o->database, created);
	return rc;
}
