// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Prometheus server of a build without libmicrohttpd (make static,
 * -DBPFMETER_NO_PROMETHEUS): output_parse() already refuses -o prometheus: there, so these
 * only satisfy the linker. Empty in the normal build, which links prom_server.c and
 * prom_web.c instead.
 */
#ifdef BPFMETER_NO_PROMETHEUS
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "prom.h"

#define NO_PROM "the Prometheus endpoint is not in this build of bpfmeter (no libmicrohttpd)"

int prom_web_config_load(const char *path, struct prom_web_config *wc, char *err, size_t errlen)
{
	(void)path;
	memset(wc, 0, sizeof(*wc));
	snprintf(err, errlen, "%s", NO_PROM);
	return -EOPNOTSUPP;
}

void prom_web_config_free(struct prom_web_config *wc)
{
	memset(wc, 0, sizeof(*wc));
}

int prom_web_check(const struct prom_web_config *wc, const char *user, const char *pass,
		   struct crypt_data *data)
{
	(void)wc, (void)user, (void)pass, (void)data;
	return -1;
}

struct prom_server *prom_server_start(const struct prom_addr *a, const struct prom_web_config *wc,
				      char *err, size_t errlen)
{
	(void)a, (void)wc;
	snprintf(err, errlen, "%s", NO_PROM);
	errno = EOPNOTSUPP;
	return NULL;
}

int prom_server_restart(struct prom_server *srv, char *err, size_t errlen)
{
	(void)srv;
	snprintf(err, errlen, "%s", NO_PROM);
	return -EOPNOTSUPP;
}

const char *prom_server_url(const struct prom_server *srv)
{
	(void)srv;
	return "";
}

void prom_server_publish(struct prom_server *srv, struct prom_snapshot *s)
{
	(void)srv, (void)s;
}

void prom_server_stop(struct prom_server *srv)
{
	(void)srv;
}
#endif
