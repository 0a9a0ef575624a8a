/*
 * A backtracking matcher for Lua patterns (Lua 5.4 reference manual, 6.4.1),
 * written for the sandbox: same results and error messages as the stock
 * string library, plus a step count. Every attempt at a pattern position,
 * every character a quantifier expands over and every character %b scans is
 * a step, and so are every 16 characters a back reference compares;
 * LUAPATTERN_CHARGE_EVERY steps are charged at a time. The recursion
 * depth is bounded as in the stock library ("pattern too complex").
 */
#include "luapattern.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>

#define MAX_CAPTURES 32 /* LUA_MAXCAPTURES */
#define MAX_DEPTH 200 /* MAXCCALLS of lstrlib */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define ESC '%'
#define SPECIALS "^$*+?.([%-"

struct capture {
	const char *init;
	ptrdiff_t len; /* or CAP_UNFINISHED, CAP_POSITION */
};

struct mstate {
	lua_State *L;
	const char *src_init, *src_end; /* the subject */
	const char *p_end; /* the end of the pattern */
	int depth; /* recursion left */
	int level; /* captures open or closed so far */
	struct capture capture[MAX_CAPTURES];
	int64_t steps; /* not charged yet */
	const struct luapattern_budget *budget;
};

static void
flush(struct mstate *ms)
{
	int64_t n = ms->steps;

	ms->steps = 0;
	if (n > 0 && ms->budget != NULL)
		ms->budget->charge(ms->L, n);
}

static void
step(struct mstate *ms)
{
	if (++ms->steps >= LUAPATTERN_CHARGE_EVERY)
		flush(ms);
}

static void
state_init(struct mstate *ms, lua_State *L, const char *s, size_t ls, const char *p, size_t lp,
    const struct luapattern_budget *budget)
{
	ms->L = L;
	ms->src_init = s;
	ms->src_end = s + ls;
	ms->p_end = p + lp;
	ms->steps = 0;
	ms->budget = budget;
}

/* Before each attempt at a subject position. */
static void
state_reset(struct mstate *ms)
{
	ms->level = 0;
	ms->depth = MAX_DEPTH;
}

/* ---- single characters ---- */

static int
class_matches(int c, int cl)
{
	int r;

	switch (tolower(cl)) {
	case 'a':
		r = isalpha(c);
		break;
	case 'c':
		r = iscntrl(c);
		break;
	case 'd':
		r = isdigit(c);
		break;
	case 'g':
		r = isgraph(c);
		break;
	case 'l':
		r = islower(c);
		break;
	case 'p':
		r = ispunct(c);
		break;
	case 's':
		r = isspace(c);
		break;
	case 'u':
		r = isupper(c);
		break;
	case 'w':
		r = isalnum(c);
		break;
	case 'x':
		r = isxdigit(c);
		break;
	case 'z': /* deprecated in 5.2, still understood by 5.4 */
		r = c == 0;
		break;
	default:
		return cl == c; /* %. %% %[ ...: the character itself */
	}
	r = r != 0;
	return isupper(cl) ? !r : r; /* %A is the complement of %a */
}

/* c against the set [ ... ] from p (its '[') to close (its ']'). */
static int
set_matches(int c, const char *p, const char *close)
{
	int want = 1;

	p++;
	if (*p == '^') {
		want = 0;
		p++;
	}
	while (p < close) {
		if (*p == ESC) {
			if (class_matches(c, (unsigned char)p[1]))
				return want;
			p += 2;
		} else if (p[1] == '-' && p + 2 < close) {
			if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
				return want;
			p += 3;
		} else {
			if ((unsigned char)*p == c)
				return want;
			p++;
		}
	}
	return !want;
}

/* Past the single-character class that starts at p. */
static const char *
class_end(struct mstate *ms, const char *p)
{
	if (*p == ESC) {
		if (p + 1 >= ms->p_end)
			luaL_error(ms->L, "malformed pattern (ends with '%%')");
		return p + 2;
	}
	if (*p != '[')
		return p + 1;
	p++;
	if (p < ms->p_end && *p == '^')
		p++;
	/* The first member may be ']' itself: "[]]" is the set of ']'. */
	for (int first = 1;; first = 0) {
		if (p >= ms->p_end)
			luaL_error(ms->L, "malformed pattern (missing ']')");
		if (*p == ']' && !first)
			return p + 1;
		if (*p == ESC && p + 1 < ms->p_end)
			p++;
		p++;
	}
}

/* Whether the subject character at s matches the class [p, ep). */
static int
one_matches(struct mstate *ms, const char *s, const char *p, const char *ep)
{
	int c;

	if (s >= ms->src_end)
		return 0;
	c = (unsigned char)*s;
	switch (*p) {
	case '.':
		return 1;
	case ESC:
		return class_matches(c, (unsigned char)p[1]);
	case '[':
		return set_matches(c, p, ep - 1);
	default:
		return (unsigned char)*p == c;
	}
}

/* ---- the matcher ---- */

static const char *do_match(struct mstate *, const char *s, const char *p);

static const char *
balance(struct mstate *ms, const char *s, const char *p)
{
	int open, close, depth = 1;

	if (p + 1 >= ms->p_end)
		luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
	if (s >= ms->src_end || *s != *p)
		return NULL;
	open = *p;
	close = p[1];
	while (++s < ms->src_end) {
		step(ms);
		if (*s == close) {
			if (--depth == 0)
				return s + 1;
		} else if (*s == open)
			depth++;
	}
	return NULL;
}

/* Greedy: take as many as match, then give back one at a time. */
static const char *
expand_max(struct mstate *ms, const char *s, const char *p, const char *ep)
{
	ptrdiff_t n = 0;

	while (one_matches(ms, s + n, p, ep)) {
		n++;
		step(ms);
	}
	for (; n >= 0; n--) {
		const char *r = do_match(ms, s + n, ep + 1);
		if (r != NULL)
			return r;
		step(ms);
	}
	return NULL;
}

/* Lazy: try the rest first, then take one more. */
static const char *
expand_min(struct mstate *ms, const char *s, const char *p, const char *ep)
{
	for (;;) {
		const char *r = do_match(ms, s, ep + 1);
		if (r != NULL)
			return r;
		if (!one_matches(ms, s, p, ep))
			return NULL;
		s++;
		step(ms);
	}
}

static const char *
capture_open(struct mstate *ms, const char *s, const char *p, ptrdiff_t what)
{
	const char *r;

	if (ms->level >= MAX_CAPTURES)
		luaL_error(ms->L, "too many captures");
	ms->capture[ms->level].init = s;
	ms->capture[ms->level].len = what;
	ms->level++;
	if ((r = do_match(ms, s, p)) == NULL)
		ms->level--;
	return r;
}

static const char *
capture_close(struct mstate *ms, const char *s, const char *p)
{
	int l = ms->level - 1;
	const char *r;

	while (l >= 0 && ms->capture[l].len != CAP_UNFINISHED)
		l--;
	if (l < 0)
		luaL_error(ms->L, "invalid pattern capture");
	ms->capture[l].len = s - ms->capture[l].init;
	if ((r = do_match(ms, s, p)) == NULL)
		ms->capture[l].len = CAP_UNFINISHED;
	return r;
}

static int
capture_index(struct mstate *ms, int c)
{
	int l = c - '1';

	if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
		luaL_error(ms->L, "invalid capture index %%%d", l + 1);
	return l;
}

/* %1..%9: the same text again. A position capture never matches. */
static const char *
backref(struct mstate *ms, const char *s, int c)
{
	int l = capture_index(ms, c);
	ptrdiff_t len = ms->capture[l].len;

	if (len < 0 || ms->src_end - s < len)
		return NULL;
	/* The comparison is work too: "(.-)%1" on a long subject is quadratic in it. */
	ms->steps += len / 16;
	step(ms);
	if (memcmp(ms->capture[l].init, s, (size_t)len) != 0)
		return NULL;
	return s + len;
}

static const char *
do_match(struct mstate *ms, const char *s, const char *p)
{
	if (ms->depth-- == 0)
		luaL_error(ms->L, "pattern too complex");
	/* Tail positions loop here rather than recurse. */
	while (p != ms->p_end) {
		const char *ep;

		step(ms);
		if (*p == '(') {
			if (p + 1 < ms->p_end && p[1] == ')')
				s = capture_open(ms, s, p + 2, CAP_POSITION);
			else
				s = capture_open(ms, s, p + 1, CAP_UNFINISHED);
			goto out;
		}
		if (*p == ')') {
			s = capture_close(ms, s, p + 1);
			goto out;
		}
		if (*p == '$' && p + 1 == ms->p_end) {
			if (s != ms->src_end)
				s = NULL;
			goto out;
		}
		if (*p == ESC && p + 1 < ms->p_end) {
			if (p[1] == 'b') {
				if ((s = balance(ms, s, p + 2)) == NULL)
					goto out;
				p += 4;
				continue;
			}
			if (p[1] == 'f') {
				int before, here;
				p += 2;
				if (*p != '[')
					luaL_error(ms->L, "missing '[' after '%%f' in pattern");
				ep = class_end(ms, p);
				before = s == ms->src_init ? '\0' : (unsigned char)s[-1];
				here = s < ms->src_end ? (unsigned char)*s : '\0';
				if (set_matches(before, p, ep - 1) ||
				    !set_matches(here, p, ep - 1)) {
					s = NULL;
					goto out;
				}
				p = ep;
				continue;
			}
			if (isdigit((unsigned char)p[1])) {
				if ((s = backref(ms, s, (unsigned char)p[1])) == NULL)
					goto out;
				p += 2;
				continue;
			}
		}
		/* A single-character class, perhaps quantified. */
		ep = class_end(ms, p);
		if (!one_matches(ms, s, p, ep)) {
			if (*ep == '*' || *ep == '?' || *ep == '-') {
				p = ep + 1; /* zero of them is a match */
				continue;
			}
			s = NULL;
			goto out;
		}
		switch (*ep) {
		case '?': {
			const char *r = do_match(ms, s + 1, ep + 1);
			if (r != NULL) {
				s = r;
				goto out;
			}
			p = ep + 1;
			continue;
		}
		case '+':
			s = expand_max(ms, s + 1, p, ep);
			goto out;
		case '*':
			s = expand_max(ms, s, p, ep);
			goto out;
		case '-':
			s = expand_min(ms, s, p, ep);
			goto out;
		default:
			s++;
			p = ep;
		}
	}
out:
	ms->depth++;
	return s;
}

/* ---- results ---- */

static void
push_capture(struct mstate *ms, int i, const char *s, const char *e)
{
	if (i >= ms->level) {
		if (i != 0)
			luaL_error(ms->L, "invalid capture index %%%d", i + 1);
		lua_pushlstring(ms->L, s, (size_t)(e - s)); /* the whole match */
		return;
	}
	ptrdiff_t len = ms->capture[i].len;
	if (len == CAP_UNFINISHED)
		luaL_error(ms->L, "unfinished capture");
	if (len == CAP_POSITION)
		lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
	else
		lua_pushlstring(ms->L, ms->capture[i].init, (size_t)len);
}

/* The captures, or the whole match when there are none (s NULL: none then). */
static int
push_captures(struct mstate *ms, const char *s, const char *e)
{
	int n = (ms->level == 0 && s != NULL) ? 1 : ms->level;

	luaL_checkstack(ms->L, n, "too many captures");
	for (int i = 0; i < n; i++)
		push_capture(ms, i, s, e);
	return n;
}

static int
has_specials(const char *p, size_t lp)
{
	for (size_t i = 0; i < lp; i++)
		if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL)
			return 1;
	return 0;
}

/* A start position as string.find takes it (1-based, negative from the end), 0-based. */
static size_t
start_at(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return (size_t)pos - 1;
	if (pos == 0 || pos < -(lua_Integer)len)
		return 0;
	return len + (size_t)pos;
}

static const struct luapattern_budget *
budget_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static int
find_or_match(lua_State *L, int find)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
	struct mstate ms;

	if (init > ls) {
		luaL_pushfail(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
		const char *hit = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
		if (hit != NULL) {
			lua_pushinteger(L, (hit - s) + 1);
			lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
			return 2;
		}
		luaL_pushfail(L);
		return 1;
	}
	int anchor = lp > 0 && *p == '^';
	if (anchor) {
		p++;
		lp--;
	}
	state_init(&ms, L, s, ls, p, lp, budget_of(L));
	const char *s1 = s + init;
	do {
		const char *e;
		state_reset(&ms);
		if ((e = do_match(&ms, s1, p)) != NULL) {
			flush(&ms);
			if (find) {
				lua_pushinteger(L, (s1 - s) + 1);
				lua_pushinteger(L, e - s);
				return push_captures(&ms, NULL, NULL) + 2;
			}
			return push_captures(&ms, s1, e);
		}
		step(&ms);
	} while (s1++ < ms.src_end && !anchor);
	flush(&ms);
	luaL_pushfail(L);
	return 1;
}

static int
p_find(lua_State *L)
{
	return find_or_match(L, 1);
}

static int
p_match(lua_State *L)
{
	return find_or_match(L, 0);
}

struct gmatch {
	const char *src; /* where the next attempt starts */
	const char *p; /* the pattern */
	const char *lastmatch; /* the end of the last match: an empty match there is skipped */
	struct mstate ms;
};

static int
gmatch_next(lua_State *L)
{
	struct gmatch *gm = lua_touserdata(L, lua_upvalueindex(3));

	gm->ms.L = L; /* the iterator may run in another coroutine than its maker */
	for (const char *src = gm->src; src <= gm->ms.src_end; src++) {
		const char *e;
		state_reset(&gm->ms);
		if ((e = do_match(&gm->ms, src, gm->p)) != NULL && e != gm->lastmatch) {
			flush(&gm->ms);
			gm->src = gm->lastmatch = e;
			return push_captures(&gm->ms, src, e);
		}
		step(&gm->ms);
	}
	flush(&gm->ms);
	gm->src = gm->ms.src_end + 1; /* spent: a further call finds nothing at once */
	return 0;
}

static int
p_gmatch(lua_State *L)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
	const struct luapattern_budget *budget = budget_of(L);
	struct gmatch *gm;

	/* The subject and the pattern stay alive as the iterator's upvalues. */
	lua_settop(L, 2);
	gm = lua_newuserdatauv(L, sizeof(*gm), 0);
	if (init > ls)
		init = ls + 1;
	state_init(&gm->ms, L, s, ls, p, lp, budget);
	gm->src = s + init;
	gm->p = p;
	gm->lastmatch = NULL;
	lua_pushcclosure(L, gmatch_next, 3);
	return 1;
}

/* A replacement string: %0 the match, %1..%9 captures, %% a percent sign. */
static void
add_replacement(struct mstate *ms, luaL_Buffer *b, const char *s, const char *e)
{
	lua_State *L = ms->L;
	size_t l;
	const char *r = lua_tolstring(L, 3, &l), *esc;

	while ((esc = memchr(r, ESC, l)) != NULL) {
		luaL_addlstring(b, r, (size_t)(esc - r));
		esc++;
		if (*esc == ESC)
			luaL_addchar(b, ESC);
		else if (*esc == '0')
			luaL_addlstring(b, s, (size_t)(e - s));
		else if (isdigit((unsigned char)*esc)) {
			push_capture(ms, *esc - '1', s, e);
			luaL_tolstring(L, -1, NULL);
			lua_remove(L, -2);
			luaL_addvalue(b);
		} else
			luaL_error(L, "invalid use of '%c' in replacement string", ESC);
		l -= (size_t)(esc + 1 - r);
		r = esc + 1;
	}
	luaL_addlstring(b, r, l);
}

/* Add the replacement of [s, e) to b; 0 when the match was kept as it was. */
static int
add_value(struct mstate *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
	lua_State *L = ms->L;

	switch (tr) {
	case LUA_TFUNCTION: {
		lua_pushvalue(L, 3);
		int n = push_captures(ms, s, e);
		lua_call(L, n, 1);
		break;
	}
	case LUA_TTABLE:
		push_capture(ms, 0, s, e);
		lua_gettable(L, 3);
		break;
	default:
		add_replacement(ms, b, s, e);
		return 1;
	}
	if (!lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s));
		return 0;
	}
	if (!lua_isstring(L, -1))
		return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
	luaL_addvalue(b);
	return 1;
}

static int
p_gsub(lua_State *L)
{
	size_t ls, lp;
	const char *src = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	const char *lastmatch = NULL;
	int tr = lua_type(L, 3);
	lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
	int anchor = lp > 0 && *p == '^', changed = 0;
	struct mstate ms;
	luaL_Buffer b;

	luaL_argexpected(L,
	    tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
	    "string/function/table");
	luaL_buffinit(L, &b);
	if (anchor) {
		p++;
		lp--;
	}
	state_init(&ms, L, src, ls, p, lp, budget_of(L));
	while (n < max) {
		const char *e;
		state_reset(&ms);
		step(&ms);
		if ((e = do_match(&ms, src, p)) != NULL && e != lastmatch) {
			n++;
			changed |= add_value(&ms, &b, src, e, tr);
			src = lastmatch = e;
		} else if (src < ms.src_end)
			luaL_addchar(&b, *src++);
		else
			break;
		if (anchor)
			break;
	}
	flush(&ms);
	if (!changed)
		lua_pushvalue(L, 1);
	else {
		luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return 2;
}

void
luapattern_register(lua_State *L, int t, const struct luapattern_budget *budget)
{
	static const luaL_Reg fns[] = {
		{ "find", p_find },
		{ "match", p_match },
		{ "gmatch", p_gmatch },
		{ "gsub", p_gsub },
	};

	t = lua_absindex(L, t);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		/* The budget is constant for the state's life: a light userdata upvalue. */
		lua_pushlightuserdata(L, (void *)(uintptr_t)budget);
		lua_pushcclosure(L, fns[i].func, 1);
		lua_setfield(L, t, fns[i].name);
	}
}
