/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_REPLAY_H
#define BM_REPLAY_H

#include "session.h"

/*
 * bpfmeter replay RECORDING [OPTIONS]: argv[0] is "replay", argv[1] the recording. The
 * whole file is checked before any output is made. Returns the exit status.
 */
int replay_recording(struct session *s, int argc, char **argv);

#endif
