/*
 * The demo workshop's skills (the skills plugin, issue 12): the three
 * referentials the plugin ships (the JSON files of etc/skills, their competences
 * repeated here: the demo writes rows, it reads no file), a year of
 * evaluations with progress for each person of the workshop, two learning
 * sessions (one held and evaluated, one planned) and one attestation.
 *
 * Written as the rest of the demo is, straight into the database, in the
 * demo's transaction, after the workshop: the plugin's tables are made by
 * its own migrations (demo_skills_module, run with the core's), and what
 * the plugin keeps of the kernel's contracts and referents is filled from
 * the rows the demo wrote, as its subscriptions would have.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../../plugins/skills/migrations.h"
#include "calendar.h"
#include "db.h"
#include "util.h"

static struct migration *migrations;

/* The plugin's migrations in the core's type (same fields). */
static const struct migration *
skills_core_migrations(void)
{
	if (migrations == NULL && (migrations = calloc(skills_nmigrations, sizeof(*migrations)))) {
		for (size_t i = 0; i < skills_nmigrations; i++) {
			migrations[i].version = skills_migrations[i].version;
			migrations[i].sql = skills_migrations[i].sql;
		}
	}
	return migrations;
}

static struct db_module module;

const struct db_module *
demo_skills_module(void)
{
	module.name = "skills";
	module.migrations = skills_core_migrations();
	module.nmigrations = skills_nmigrations;
	return &module;
}

struct comp {
	const char *block, *block_title, *code, *title, *kind;
};

static const char levels4[] = "[\"non acquis\",\"en cours d'acquisition\",\"acquis\",\"maîtrisé\"]";

static const struct comp savoir_etre[] = {
	{ "SE1", "Fiabilité", "SE1.1", "Être ponctuel et assidu", "savoir_etre" },
	{ "SE1", "Fiabilité", "SE1.2", "Respecter les consignes de sécurité", "savoir_etre" },
	{ "SE1", "Fiabilité", "SE1.3", "Suivre les consignes de travail", "savoir_etre" },
	{ "SE2", "Relation et coopération", "SE2.1", "Travailler en équipe", "savoir_etre" },
	{ "SE2", "Relation et coopération", "SE2.2",
	    "Communiquer avec l'encadrant et les collègues", "savoir_etre" },
	{ "SE2", "Relation et coopération", "SE2.3",
	    "Faire preuve de respect envers les clients et les usagers", "savoir_etre" },
	{ "SE3", "Autonomie", "SE3.1", "Organiser son travail avec autonomie", "savoir_etre" },
	{ "SE3", "Autonomie", "SE3.2", "Prendre des initiatives à bon escient", "savoir_etre" },
	{ "SE3", "Autonomie", "SE3.3", "Prendre soin du matériel confié", "savoir_etre" },
};

static const struct comp espaces_verts[] = {
	{ "EV1", "Entretenir les espaces verts", "EV1.1", "Tondre une pelouse", "savoir_faire" },
	{ "EV1", "Entretenir les espaces verts", "EV1.2", "Tailler une haie", "savoir_faire" },
	{ "EV1", "Entretenir les espaces verts", "EV1.3", "Débroussailler un terrain",
	    "savoir_faire" },
	{ "EV1", "Entretenir les espaces verts", "EV1.4", "Ramasser et évacuer les déchets verts",
	    "savoir_faire" },
	{ "EV2", "Créer et planter", "EV2.1", "Planter des arbustes et des vivaces",
	    "savoir_faire" },
	{ "EV2", "Créer et planter", "EV2.2", "Reconnaître les végétaux courants", "savoir" },
	{ "EV3", "Matériel et sécurité du chantier", "EV3.1",
	    "Entretenir l'outillage et les machines", "savoir_faire" },
	{ "EV3", "Matériel et sécurité du chantier", "EV3.2",
	    "Porter les équipements de protection individuelle", "savoir_faire" },
	{ "EV3", "Matériel et sécurité du chantier", "EV3.3", "Baliser et sécuriser un chantier",
	    "savoir_faire" },
	{ "EV3", "Matériel et sécurité du chantier", "EV3.4",
	    "Connaître les risques des machines thermiques", "savoir" },
};

#define BC01                                                                                       \
	"Organiser et gérer une activité de production et en encadrer l'équipe dans une "       \
	"structure d'insertion"
#define BC02                                                                                          \
	"Participer à l'accueil, à l'accompagnement socio-professionnel et au suivi des salariés " \
	"en insertion"
#define BC03                                                                                       \
	"Organiser des séances d'apprentissage en lien avec les situations de production d'une "  \
	"structure d'insertion"
static const struct comp rncp[] = {
	{ "RNCP39794BC01", BC01, "BC01.1",
	    "Contribuer à la relation client d'une structure d'insertion", "savoir_faire" },
	{ "RNCP39794BC01", BC01, "BC01.2",
	    "Organiser une activité de production en structure d'insertion", "savoir_faire" },
	{ "RNCP39794BC01", BC01, "BC01.3",
	    "Gérer une activité de production dans une structure d'insertion", "savoir_faire" },
	{ "RNCP39794BC01", BC01, "BC01.4", "Encadrer une équipe de salariés en insertion",
	    "savoir_faire" },
	{ "RNCP39794BC02", BC02, "BC02.1",
	    "Accueillir et mettre en place les conditions favorables à l'intégration de salariés "
	    "en insertion",
	    "savoir_faire" },
	{ "RNCP39794BC02", BC02, "BC02.2",
	    "Accompagner et suivre les salariés dans leur parcours d'insertion", "savoir_faire" },
	{ "RNCP39794BC02", BC02, "BC02.3",
	    "Travailler en équipe et avec les acteurs impliqués dans le parcours d'insertion des "
	    "salariés",
	    "savoir_faire" },
	{ "RNCP39794BC03", BC03, "BC03.1",
	    "Préparer les séances d'apprentissage pour favoriser l'acquisition de compétences en "
	    "situation de production",
	    "savoir_faire" },
	{ "RNCP39794BC03", BC03, "BC03.2",
	    "Animer des séances d'apprentissage en lien avec les situations de production",
	    "savoir_faire" },
	{ "RNCP39794BC03", BC03, "BC03.3",
	    "Evaluer les acquis des salariés tout au long du parcours d'insertion",
	    "savoir_faire" },
};

struct sk {
	sqlite3 *h;
	const char *stamp; /* created_at of every row */
	uint64_t rng;
	char err[256];
};

static uint64_t
rnd(struct sk *k)
{
	uint64_t z = (k->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Run sql with text arguments (NULL: SQL NULL); the new row's id, or -1. */
static int64_t
run(struct sk *k, const char *sql, int n, const char *const *args)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(k->h, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(k->err, sizeof(k->err), "skills: %s", sqlite3_errmsg(k->h));
		return -1;
	}
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(k->err, sizeof(k->err), "skills: %s", sqlite3_errmsg(k->h));
		return -1;
	}
	return sqlite3_last_insert_rowid(k->h);
}

#define RUN(k, sql, ...)                                                                           \
	run((k), (sql), (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)),     \
	    (const char *[]){ __VA_ARGS__ })

static int64_t
referential(struct sk *k, const char *code, const char *title, const char *source,
    const struct comp *c, size_t n, int64_t *ids)
{
	char id[32];
	int64_t r = RUN(k,
	    "INSERT INTO skills_referentials (code, title, version, source, levels, acquired_from,"
	    " created_at) VALUES (?1, ?2, 1, ?3, ?4, 3, ?5)",
	    code, title, source, levels4, k->stamp);

	if (r < 0)
		return -1;
	snprintf(id, sizeof(id), "%lld", (long long)r);
	for (size_t i = 0; i < n; i++)
		if ((ids[i] = RUN(k,
		         "INSERT INTO skills_competences (referential_id, block_code, block_title, "
		         "code,"
		         " title, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		         id, c[i].block, c[i].block_title, c[i].code, c[i].title, c[i].kind)) < 0)
			return -1;
	return r;
}

static void
day_text(int64_t day, char *buf)
{
	cal_format(day, buf, CAL_DATE_LEN);
}

int
demo_skills(struct db *db, int64_t today, char *err, size_t errlen)
{
	char stamp[32];
	struct sk k = { .h = db_handle(db), .stamp = stamp, .rng = 0x5ca1ab1e };
	int64_t ve[sizeof(espaces_verts) / sizeof(espaces_verts[0])];
	int64_t se[sizeof(savoir_etre) / sizeof(savoir_etre[0])];
	int64_t bc[sizeof(rncp) / sizeof(rncp[0])];
	char a[8][64], d1[CAL_DATE_LEN], d2[CAL_DATE_LEN];
	sqlite3_stmt *st = NULL;
	int64_t people[64], eti[64], first[64], last[64], held, planned, coord = 0, best = 0;
	int n = 0, bestn = -1;

	tr_rfc3339(tr_now(), stamp, sizeof(stamp));

	if (referential(&k, "SAVOIR-ETRE", "Savoir-être professionnels transversaux", "transversal",
	        savoir_etre, sizeof(se) / sizeof(se[0]), se) < 0 ||
	    referential(&k, "ESPACES-VERTS", "Atelier espaces verts", "own", espaces_verts,
	        sizeof(ve) / sizeof(ve[0]), ve) < 0 ||
	    referential(&k, "RNCP39794", "TP Encadrant technique d'insertion", "rncp", rncp,
	        sizeof(bc) / sizeof(bc[0]), bc) < 0)
		goto fail;
	/* What the plugin keeps of the kernel's rows, as its subscriptions would. */
	if (run(&k,
	        "INSERT INTO skills_contracts (contract_id, employee_id, start_date, end_date,"
	        " ended_on) SELECT id, employee_id, start_date, end_date, ended_on FROM contracts",
	        0, NULL) < 0 ||
	    run(&k,
	        "INSERT INTO skills_people (employee_id, referent_eti_id)"
	        " SELECT id, referent_eti_id FROM employees",
	        0, NULL) < 0)
		goto fail;
	if (sqlite3_prepare_v2(k.h,
	        "SELECT e.id, coalesce(e.referent_eti_id, (SELECT min(id) FROM staff WHERE role ="
	        " 'eti')), min(c.start_date), max(coalesce(c.ended_on, c.end_date))"
	        " FROM employees e JOIN contracts c ON c.employee_id = e.id"
	        " GROUP BY e.id ORDER BY e.id",
	        -1, &st, NULL) != SQLITE_OK)
		goto sqlfail;
	while (sqlite3_step(st) == SQLITE_ROW && n < 64) {
		people[n] = sqlite3_column_int64(st, 0);
		eti[n] = sqlite3_column_int64(st, 1);
		cal_parse((const char *)sqlite3_column_text(st, 2), 10, &first[n]);
		cal_parse((const char *)sqlite3_column_text(st, 3), 10, &last[n]);
		n++;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* A year at most of evaluations, every four to seven weeks, each level earned. */
	for (int i = 0; i < n; i++) {
		int64_t from = first[i] > today - 365 ? first[i] : today - 365;
		int64_t to = last[i] < today ? last[i] : today;
		int count = 0;
		snprintf(a[1], sizeof(a[1]), "%lld", (long long)people[i]);
		snprintf(a[4], sizeof(a[4]), "%lld", (long long)eti[i]);
		for (size_t c = 0; c < sizeof(ve) / sizeof(ve[0]) + 3; c++) {
			int64_t comp = c < sizeof(ve) / sizeof(ve[0]) ? ve[c] : se[c - 10];
			int level = 1;
			snprintf(a[2], sizeof(a[2]), "%lld", (long long)comp);
			for (int64_t day = from + (int64_t)(rnd(&k) % 20); day <= to;
			     day += 28 + (int64_t)(rnd(&k) % 21)) {
				if (level < 4 && rnd(&k) % 100 < 40)
					level++;
				snprintf(a[3], sizeof(a[3]), "%d", level);
				day_text(day, d1);
				if (RUN(&k,
				        "INSERT INTO skills_evaluations (employee_id, "
				        "competence_id, level,"
				        " evaluated_on, evaluator_id, kind, situation, created_by,"
				        " created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'evaluation',"
				        " 'Chantier d''entretien', ?5, ?6)",
				        a[1], a[2], a[3], d1, a[4], stamp) < 0)
					goto fail;
				count++;
			}
		}
		if (count > bestn && last[i] <= today) {
			bestn = count;
			best = i;
		}
	}
	/* Two sessions: one held and evaluated, one planned for next week. */
	day_text(today - 21, d1);
	day_text(today + 7, d2);
	snprintf(a[0], sizeof(a[0]), "%lld", (long long)(n > 0 ? eti[0] : 0));
	held = RUN(&k,
	    "INSERT INTO skills_sessions (title, work_situation, objectives, criteria, "
	    "difficulties,"
	    " resources, evaluation_methods, status, planned_on, place, eti_id, what_happened,"
	    " created_by, created_at, updated_at) VALUES ('Tailler une haie au taille-haie',"
	    " 'Chantier de la résidence Les Tilleuls : 60 m de haie de thuyas',"
	    " 'Tailler droit, à la bonne hauteur, en sécurité',"
	    " 'Haie droite à ±5 cm ; EPI portés ; zone balisée',"
	    " 'Tenue de la machine à bout de bras : alterner les postes toutes les 20 minutes',"
	    " 'Taille-haie thermique, cordeau, EPI, bâches', 'Grille d''observation en fin de "
	    "séance',"
	    " 'evaluated', ?1, 'Résidence Les Tilleuls', ?2, 'Séance tenue avec trois salariés',"
	    " ?2, ?3, ?3)",
	    d1, a[0], stamp);
	if (held < 0)
		goto fail;
	snprintf(a[5], sizeof(a[5]), "%lld", (long long)held);
	planned = RUN(&k,
	    "INSERT INTO skills_sessions (title, work_situation, objectives, criteria, "
	    "difficulties,"
	    " resources, evaluation_methods, status, planned_on, place, eti_id, copied_from,"
	    " created_by, created_at, updated_at) SELECT title, work_situation, objectives,"
	    " criteria, difficulties, resources, evaluation_methods, 'planned', ?1, 'Parc du"
	    " Moulin', ?2, id, ?2, ?3, ?3 FROM skills_sessions WHERE id = ?4",
	    d2, a[0], stamp, a[5]);
	if (planned < 0)
		goto fail;
	snprintf(a[6], sizeof(a[6]), "%lld", (long long)planned);
	for (int s = 0; s < 2; s++) {
		const char *sid = s ? a[6] : a[5];
		snprintf(a[2], sizeof(a[2]), "%lld", (long long)ve[1]);
		snprintf(a[3], sizeof(a[3]), "%lld", (long long)se[1]);
		if (RUN(&k,
		        "INSERT INTO skills_session_competences (session_id, competence_id)"
		        " VALUES (?1, ?2), (?1, ?3)",
		        sid, a[2], a[3]) < 0 ||
		    RUN(&k,
		        "INSERT INTO skills_session_steps (session_id, position, contents, method,"
		        " duration_min) VALUES (?1, 1, 'Démonstration du geste et des réglages',"
		        " 'demonstration', 15), (?1, 2, 'Chacun taille 5 m, l''encadrant corrige',"
		        " 'guided_practice', 30), (?1, 3, 'Taille en autonomie, contrôle au "
		        "cordeau',"
		        " 'autonomous_practice', 30)",
		        sid) < 0)
			goto fail;
		for (int i = 0; i < 3 && i < n; i++) {
			if (last[i] < today)
				continue;
			snprintf(a[1], sizeof(a[1]), "%lld", (long long)people[i]);
			if (RUN(&k,
			        "INSERT INTO skills_participations (employee_id, session_id, "
			        "attended,"
			        " created_at) VALUES (?1, ?2, ?3, ?4)",
			        a[1], sid, s ? NULL : "1", stamp) < 0)
				goto fail;
		}
	}
	/* An attestation at the exit of the person with the most evaluations who left. */
	if (sqlite3_prepare_v2(k.h, "SELECT min(id) FROM staff WHERE role = 'coordinator'", -1, &st,
	        NULL) != SQLITE_OK)
		goto sqlfail;
	if (sqlite3_step(st) == SQLITE_ROW)
		coord = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (bestn > 0) {
		snprintf(a[1], sizeof(a[1]), "%lld", (long long)people[best]);
		snprintf(a[4], sizeof(a[4]), "%lld", (long long)eti[best]);
		snprintf(a[7], sizeof(a[7]), "%lld", (long long)coord);
		day_text(first[best], d1);
		day_text(last[best], d2);
		if (RUN(&k,
		        "INSERT INTO skills_attestations (employee_id, period_from, period_to,"
		        " savoir_etre_consent, consent_on, eti_id, coordinator_id, issued_by,"
		        " created_at) VALUES (?1, ?2, ?3, 1, ?3, ?4, ?5, ?4, ?6)",
		        a[1], d1, d2, a[4], a[7], stamp) < 0)
			goto fail;
	}
	return 0;
sqlfail:
	snprintf(k.err, sizeof(k.err), "skills: %s", sqlite3_errmsg(k.h));
fail:
	sqlite3_finalize(st);
	snprintf(err, errlen, "%s", k.err);
	return -1;
}
