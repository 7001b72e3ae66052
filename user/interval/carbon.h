/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_CARBON_H
#define BM_CARBON_H

/*
 * The carbon intensity of the electricity, in grams CO2e per kWh, as the user gives it: a
 * constant (--carbon-intensity) or values over time (--carbon-intensity-file, a CSV
 * "timestamp,g_per_kwh" of unix seconds, ascending). The grams CO2e the outputs show are an
 * estimate from it, never a measurement.
 */
#include <stddef.h>
#include <stdint.h>

/* The range an intensity is taken in, exclusive: no grid is near 5000 g/kWh. */
#define BM_CARBON_MIN 0.0
#define BM_CARBON_MAX 5000.0
#define BM_J_PER_KWH 3.6e6

struct carbon {
	double constant; /* > 0: --carbon-intensity; else the table, if any */
	int64_t *t; /* unix seconds, strictly ascending */
	double *g_per_kwh; /* from t[i] on */
	size_t n;
};

/*
 * Read a carbon intensity file whole into c, replacing what c held. Returns 0, or -1 with
 * "PATH:LINE:COLUMN: what" (the column a field's number) in err, c as it was.
 */
int carbon_load(struct carbon *c, const char *path, char *err, size_t errlen);
void carbon_free(struct carbon *c);
/*
 * The intensity for an interval that ends at ts_ns (unix ns): the constant, or the last
 * value at or before it; -1 where there is none (before the first value, or none given).
 */
double carbon_at(const struct carbon *c, int64_t ts_ns);

/* Grams CO2e of joules at g_per_kwh. */
static inline double carbon_co2e_g(double joules, double g_per_kwh)
{
	return joules * g_per_kwh / BM_J_PER_KWH;
}

#endif
