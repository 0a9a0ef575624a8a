/*
 * Lua patterns with a step budget: string.find, match, gmatch and gsub as
 * Lua 5.4 defines them, for the script sandbox. The stock functions run a
 * backtracking matcher in C, where no hook can stop them: a pattern such as
 * ".-.-.-.-.-b" on a long subject would hold the event loop for minutes.
 * These count their steps and hand them to a charge function every few
 * thousand, which raises a Lua error when the caller's budget is spent (the
 * matcher holds nothing that an error would leak).
 */
#ifndef TREMPLIN_LUAPATTERN_H
#define TREMPLIN_LUAPATTERN_H

#include <stdint.h>

#include <lua.h>

struct luapattern_budget {
	/* Called with the steps made since the last call; may raise a Lua error. */
	void (*charge)(lua_State *, int64_t steps);
};

/* Steps between two calls of charge. */
#define LUAPATTERN_CHARGE_EVERY 4096

/*
 * Set find, match, gmatch and gsub in the table at index t, charging budget
 * (which must outlive the state; NULL: no budget, for tests).
 */
void luapattern_register(lua_State *L, int t, const struct luapattern_budget *budget);

#endif
