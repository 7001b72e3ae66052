// SPDX-License-Identifier: BSD-2-Clause
/*
 * Readiness in a build without libsystemd (make static, -DBPFMETER_NO_SYSTEMD): no
 * notifications, so such a bpfmeter runs under Type=simple. Empty in the normal build, which
 * links notify.c instead.
 */
#ifdef BPFMETER_NO_SYSTEMD
#include "notify.h"

void notify_ready(const char *status)
{
	(void)status;
}

void notify_reloading(void)
{
}

void notify_stopping(void)
{
}
#endif
