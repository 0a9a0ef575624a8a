/*
 * France Travail's partner APIs for the registry plugin (ft.c): an OAuth2
 * client (client credentials, the realm in the query, the token cached
 * until shortly before it expires and refreshed once on a 401) and the
 * ROME 4.0 fiches métiers of the trades the structure configures, kept as
 * a referential (registry_rome) that the view registry.rome_fiches.v1
 * offers to the skills plugin, each change a new version.
 */
#ifndef REGISTRY_FT_H
#define REGISTRY_FT_H

#include <tremplin/plugin.h>

struct ft;

/*
 * A secret alone in a file its owner alone may read (mode 0600, refused
 * otherwise), trimmed; err names the setting.
 */
int reg_read_secret(
    const char *path, const char *setting, char *out, size_t outlen, char *err, size_t errlen);

struct ft *ft_new(const struct tremplin_host *, struct tremplin_plugin *);
void ft_free(struct ft *);
/* In init: the view. */
int ft_init(struct ft *);
/* The "france_travail" section (NULL: not configured); err names the setting. */
int ft_config(struct ft *, const json_t *section, char *err, size_t errlen);
int ft_configured(const struct ft *);
/* Fetch every configured fiche now; -1 when not configured or already fetching. */
int ft_run(struct ft *);
/* {configured, running, last_run_at, fetched, changed, errors, last_error, token_until}. */
json_t *ft_status(const struct ft *);

#endif
