/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_TERM_H
#define BM_TERM_H

#include <signal.h>
#include <stdbool.h>

/*
 * The live view's terminal: keys read one by one without echo (ICANON and ECHO off, signals
 * still from the terminal: Ctrl-C stays SIGINT), the cursor hidden, and all of it put back on
 * every way out: a normal end, an error, exit(3), a fatal signal; Ctrl-Z gives the shell its
 * terminal back and SIGCONT takes it again.
 */

/* Set on SIGWINCH (and SIGCONT): the screen is to be drawn again. */
extern volatile sig_atomic_t term_redraw;

/* Keys on, where stdin and stdout are both a terminal: true; else false, nothing changed. */
bool term_keys_start(void);
/* The terminal as it was (safe to call again, and where keys never started). */
void term_restore(void);
/* The terminal's size in columns and lines (80 x 24 where it does not say). */
void term_size(int fd, int *width, int *height);

#endif
