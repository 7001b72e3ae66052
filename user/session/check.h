/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_CHECK_H
#define BM_CHECK_H

#include "session.h"

/* bpfmeter check: a line per feature on stdout. Returns the exit status. */
int check_host(struct session *s);

#endif
