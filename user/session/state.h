/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_STATE_H
#define BM_STATE_H

/*
 * The model state a live session keeps across restarts (--state-dir): per socket, domain and
 * layer the last accepted fit and id, and the rings of samples and errors, in DIR/model.state,
 * with what it was made under (host, features, sockets, domains, model settings). A session
 * under the same reloads it and splits with a fitted model from its first interval; any other
 * state is refused with the reason. Replays never touch it.
 *
 * The format, version 3: text, one item a line, numbers as %.17g (they read back to the same
 * bits), fields separated by one space:
 *
 *	bpfmeter-state 3
 *	KEY VALUE			what it was made under, the rest of the line a value:
 *					host, features, sockets, package_ids, domains, base_mhz,
 *					then the model settings of settings.c (model_window ...)
 *	next_id N			the id the last accepted fit got
 *	layer SOCKET DOMAIN MHZ		a layer (socket index, domain name, MHz; -1: one layer)
 *	fit ID INTERCEPT COEF...	its split's fit, one weight per feature, and
 *	local INTERCEPT COEF...		its level fit (both absent: not fitted yet)
 *	evidence N SW SYY SXY.. SXX..	the split's evidence (struct model_evidence)
 *	prior SET W.. PREC..		the weights' prior
 *	track NMEAN MEAN_Y MEAN_X.. STATIC HAVE_ERR ERR_LEVEL ERR_STATIC SIGMA2
 *					the running means, the prediction's static part and errors
 *	diffs N SW SYY SXY.. SXX.. SIGMA2 WD..
 *					the prediction's evidence and weights (version 3 on;
 *					a version 2 file is read without it)
 *	samples N HEAD			its ring of samples: N of them, HEAD where the next goes,
 *	sample Y X...			then each sample, measured W and features, in ring order
 *	errors N HEAD			its ring of absolute errors since the fit, the same way,
 *	error E				then each error
 *	end CRC				the CRC-32 (zlib's) of every byte before this line, in hex
 */
#include <stddef.h>

#include "interval.h"

#define STATE_FILE "model.state"
#define STATE_SAVE_PERIOD_S 60.0 /* a live session saves at most this often, and at exit */
#define STATE_FORMAT_VERSION 3
#define STATE_FORMAT_OLDEST 2 /* the oldest format this one reads */
#define STATE_MAX_KEYS 32
#define STATE_VALUE_MAX 1024

/* What a state is made under, as KEY VALUE pairs: a state is used only where all match. */
struct state_identity {
	int n;
	struct state_key {
		const char *key;
		char value[STATE_VALUE_MAX]; /* no line breaks or other control characters */
	} v[STATE_MAX_KEYS];
};

/*
 * The identity of a session: its host, the interval pipeline's features, sockets, base
 * frequency and model settings, the physical package id of each socket and the energy
 * domains measured (a bit per enum bm_domain).
 */
void state_identity_init(struct state_identity *id, const char *host,
			 const struct interval_config *cfg, const int *package_id,
			 unsigned int domains);

/* iv's models in the format above, malloc'd, *len bytes. */
char *state_format(const struct state_identity *id, const struct interval *iv, size_t *len);
/*
 * A state file's text (buf, len bytes) into the models of iv, which has not run yet. Returns
 * 0; -EBADMSG when it is not a state file, of another version, truncated or damaged; -ESTALE
 * when it was made under another identity than id. Then why says what (the keys that differ,
 * with both values) and iv is as it was.
 */
int state_parse(const char *buf, size_t len, const struct state_identity *id, struct interval *iv,
		char *why, size_t whylen);

/*
 * DIR/model.state written atomically: DIR made where missing, the text to a temporary file in
 * DIR, fsync'd, renamed over the old one, DIR fsync'd. The old file stays as it was when any
 * step fails. Returns 0, or -errno with why naming the step and the path.
 */
int state_save(const char *dir, const struct state_identity *id, const struct interval *iv,
	       char *why, size_t whylen);
/*
 * DIR for this process to save in: made where missing, and locked (flock) so that a second
 * bpfmeter on it cannot replace this one's state with its own. Returns the fd that holds the
 * lock (close it to let go), -EWOULDBLOCK when another process holds it, or -errno with why
 * saying what failed.
 */
int state_lock(const char *dir, char *why, size_t whylen);
/*
 * DIR/model.state into iv as state_parse does. Returns -ENOENT when there is none, nor DIR
 * perhaps (nothing to say), another -errno when it cannot be read (why says so), else as
 * state_parse.
 */
int state_load(const char *dir, const struct state_identity *id, struct interval *iv, char *why,
	       size_t whylen);

#endif
