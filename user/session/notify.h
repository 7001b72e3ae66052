/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_NOTIFY_H
#define BM_NOTIFY_H

/*
 * The service manager's view of the session (sd_notify(3), Type=notify): ready once the
 * programs are attached and the outputs open, reloading around SIGHUP, stopping at the end.
 * Each does nothing where $NOTIFY_SOCKET is unset, and in a build without libsystemd.
 */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);

#endif
