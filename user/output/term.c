// SPDX-License-Identifier: BSD-2-Clause
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

volatile sig_atomic_t term_redraw;

static struct termios saved, raw;
static volatile sig_atomic_t active;
static bool handlers;

/* Async-signal-safe: a fatal signal's handler calls it too. */
static void restore(void)
{
	static const char show_cursor[] = "\033[?25h";

	if (!active)
		return;
	active = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (write(STDOUT_FILENO, show_cursor, sizeof(show_cursor) - 1) < 0)
		return;
}

static void enter(void)
{
	static const char hide_cursor[] = "\033[?25l";

	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return;
	active = 1;
	if (write(STDOUT_FILENO, hide_cursor, sizeof(hide_cursor) - 1) < 0)
		return;
}

/* A fatal signal: the terminal back, then the signal's own end (SA_RESETHAND). */
static void on_fatal(int sig)
{
	restore();
	raise(sig);
}

/* Ctrl-Z: the shell gets a cooked terminal; SIGCONT takes it again and redraws. */
static void on_stop(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL },
			 again = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	int was = active;
	sigset_t set;

	(void)sig;
	restore();
	/* Stopped by its default action now: unblocked, it is not pending until we return. */
	sigaction(SIGTSTP, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* Continued (fg). */
	sigaction(SIGTSTP, &again, NULL);
	if (was)
		enter();
	term_redraw = 1;
}

static void on_winch(int sig)
{
	(void)sig;
	term_redraw = 1;
}

bool term_keys_start(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_fatal, .sa_flags = SA_RESETHAND };

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || tcgetattr(STDIN_FILENO, &saved))
		return false;
	raw = saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (!handlers) {
		atexit(term_restore);
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			sigaction(fatal[i], &sa, NULL);
		sa = (struct sigaction){ .sa_handler = on_stop, .sa_flags = SA_RESTART };
		sigaction(SIGTSTP, &sa, NULL);
		/* Restarted where it interrupts: the interval's wait (ppoll) wakes all the same. */
		sa = (struct sigaction){ .sa_handler = on_winch, .sa_flags = SA_RESTART };
		sigaction(SIGWINCH, &sa, NULL);
		handlers = true;
	}
	enter();
	return active;
}

void term_restore(void)
{
	restore();
}

void term_size(int fd, int *width, int *height)
{
	struct winsize ws;

	*width = 80;
	*height = 24;
	if (ioctl(fd, TIOCGWINSZ, &ws) || !ws.ws_col || !ws.ws_row)
		return;
	*width = ws.ws_col;
	*height = ws.ws_row;
}
