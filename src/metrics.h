/*
 * Monitoring: counters the API keeps as it answers, and GET /v1/metrics,
 * which prints them with the stores' and the plugins' state in the
 * Prometheus text format. No label holds personal data: routes are
 * templates, never concrete paths.
 */
#ifndef TREMPLIN_METRICS_H
#define TREMPLIN_METRICS_H

struct tremplin_request;

/*
 * Count one answered request: route is the matched template (NULL when none
 * matched), method its HTTP name, seconds the time from dispatch to answer.
 */
void metrics_request(const char *route, const char *method, int status, double seconds);

/* GET /v1/metrics. */
void metrics_serve(struct tremplin_request *);

/* Retention's hold, shown as a gauge (rights.c sets it). */
void metrics_set_retention_held(int held);

#endif
