// SPDX-License-Identifier: BSD-2-Clause
/*
 * Time one fit of the power model: 60 samples of 8 features, as a full window of a host
 * with eight counters. Prints the median and the 99th percentile over many fits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model.h"

#define N 60
#define P 8
#define RUNS 2000

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	static double x[N * P], y[N], t[RUNS];
	struct model_fit fit;

	srand(1);
	for (int r = 0; r < RUNS; r++) {
		double t0;

		for (int i = 0; i < N; i++) {
			y[i] = 20;
			for (int j = 0; j < P; j++) {
				x[i * P + j] = rand() / (double)RAND_MAX * 1e9;
				y[i] += x[i * P + j] * 1e-8 * (j + 1);
			}
		}
		t0 = now_us();
		if (model_fit(x, y, N, P, model_config_default.ridge, &fit)) {
			fprintf(stderr, "model-fit: the fit failed\n");
			return 1;
		}
		t[r] = now_us() - t0;
	}
	qsort(t, RUNS, sizeof(*t), cmp);
	printf("fits %d (samples %d, features %d)\n", RUNS, N, P);
	printf("model_fit_us_median %.1f\n", t[RUNS / 2]);
	printf("model_fit_us_p99 %.1f\n", t[RUNS * 99 / 100]);
	printf("model_fit_target_us 1000\n");
	printf("model_fit_target_met %s\n", t[RUNS / 2] < 1000 ? "yes" : "no");
	return 0;
}
