/* SPDX-License-Identifier: MIT */
/* Console backends (console.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "pv_log.h"
#include "vm.h"

#define TAG "console"

enum { CON_NONE, CON_STDIO, CON_PTY, CON_FILE };

struct hv_console {
	int kind;
	int in_fd, out_fd;
	int pty_slave_fd;         /* held open so the master never sees hang-up */
	bool raw;                 /* in_fd's termios changed, restore on close */
	struct termios saved;
	char pty_path[64];
	bool escape_seen;
	hv_console_input_fn input;
	void *input_opaque;
};

/* The terminal to restore if the process dies on a fatal signal.  The only
 * process-wide state in the VMM: a signal handler has no other way to find it. */
static struct hv_console *console_tty_owner;

static void console_restore(struct hv_console *con)
{
	if (con->raw) {
		tcsetattr(con->in_fd, TCSANOW, &con->saved);
		con->raw = false;
	}
}

static void console_fatal_signal(int sig)
{
	if (console_tty_owner)
		console_restore(console_tty_owner);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int console_make_raw(struct hv_console *con, int fd)
{
	struct termios t;

	if (tcgetattr(fd, &con->saved) < 0)
		return -errno;
	t = con->saved;
	cfmakeraw(&t);
	/* Keep output post-processing so "\n" from the guest still returns the carriage. */
	t.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	con->raw = true;
	console_tty_owner = con;
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], console_fatal_signal);
	return 0;
}

static int console_open_pty(struct hv_console *con, const char **err)
{
	struct termios t;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, con->pty_path, sizeof(con->pty_path))) {
		*err = "allocating a pty";
		if (m >= 0)
			close(m);
		return -errno;
	}
	con->in_fd = con->out_fd = m;
	con->pty_slave_fd = open(con->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (con->pty_slave_fd < 0) {
		*err = "opening the pty";
		return -errno;
	}
	/* Raw line discipline: no echo back to the guest, no line buffering. */
	if (tcgetattr(con->pty_slave_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(con->pty_slave_fd, TCSANOW, &t);
	}
	return 0;
}

int hv_console_open(struct hv_console **out, const char *spec, const char **err)
{
	struct hv_console *con = calloc(1, sizeof(*con));
	int r = 0;

	*out = NULL;
	if (!con) {
		*err = "allocating the console";
		return -ENOMEM;
	}
	con->in_fd = con->out_fd = con->pty_slave_fd = -1;
	if (!strcmp(spec, "stdio")) {
		con->kind = CON_STDIO;
		con->in_fd = STDIN_FILENO;
		con->out_fd = STDOUT_FILENO;
		if (isatty(con->in_fd) && console_make_raw(con, con->in_fd) < 0)
			pv_log_warn(TAG, "cannot put the terminal in raw mode: %s", strerror(errno));
	} else if (!strcmp(spec, "pty")) {
		con->kind = CON_PTY;
		r = console_open_pty(con, err);
	} else if (!strncmp(spec, "file:", 5) && spec[5]) {
		con->kind = CON_FILE;
		con->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (con->out_fd < 0) {
			*err = spec + 5;
			r = -errno;
		}
	} else if (!strcmp(spec, "none")) {
		con->kind = CON_NONE;
	} else {
		*err = "unknown console (stdio, pty, file:PATH, none)";
		r = -EINVAL;
	}
	if (r < 0) {
		hv_console_close(con);
		return r;
	}
	*out = con;
	return 0;
}

void hv_console_close(struct hv_console *con)
{
	if (!con)
		return;
	console_restore(con);
	if (console_tty_owner == con)
		console_tty_owner = NULL;
	if (con->kind == CON_PTY || con->kind == CON_FILE) {
		if (con->out_fd >= 0)
			close(con->out_fd);
		if (con->pty_slave_fd >= 0)
			close(con->pty_slave_fd);
	}
	free(con);
}

const char *hv_console_pty_path(const struct hv_console *con)
{
	return con && con->kind == CON_PTY ? con->pty_path : NULL;
}

void hv_console_write(struct hv_console *con, const void *buf, size_t len)
{
	const char *p = buf;

	if (!con || con->out_fd < 0)
		return;
	while (len) {
		ssize_t n = write(con->out_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* pty full with nobody reading, or output closed: drop */
		p += n;
		len -= (size_t)n;
	}
}

/* Filters the escape sequence out of buf in place; returns the bytes left
 * and sets *quit when Ctrl-] x was typed. */
static size_t console_filter(struct hv_console *con, uint8_t *buf, size_t n, bool *quit)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (con->escape_seen) {
			con->escape_seen = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				return o;
			}
			if (c != HV_CONSOLE_ESCAPE)
				buf[o++] = HV_CONSOLE_ESCAPE;
			buf[o++] = c;
		} else if (c == HV_CONSOLE_ESCAPE && con->kind == CON_STDIO) {
			con->escape_seen = true;
		} else {
			buf[o++] = c;
		}
	}
	return o;
}

static void console_readable(struct hv_vm *vm, int fd, void *opaque)
{
	struct hv_console *con = opaque;
	uint8_t buf[256];
	bool quit = false;
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		hv_vm_poll_del(vm, fd); /* EOF on stdin: the guest runs on without input */
		return;
	}
	size_t left = console_filter(con, buf, (size_t)n, &quit);

	if (left && con->input)
		con->input(con->input_opaque, buf, left);
	if (quit) {
		pv_log_info(TAG, "%s: escape typed, stopping", vm->name);
		hv_vm_request_stop(vm, HV_EXIT_SIGNAL_BASE + SIGINT);
	}
}

int hv_console_attach(struct hv_console *con, struct hv_vm *vm, hv_console_input_fn fn, void *opaque)
{
	con->input = fn;
	con->input_opaque = opaque;
	if (con->in_fd < 0)
		return 0;
	return hv_vm_poll_add(vm, con->in_fd, console_readable, con);
}

/* `pvkvm console`: the user's terminal in raw mode <-> the guest's pty. */
int hv_console_relay(const char *pty_path)
{
	struct hv_console term = { .kind = CON_STDIO, .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO };
	int fd = open(pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (isatty(STDIN_FILENO))
		console_make_raw(&term, STDIN_FILENO);
	for (;;) {
		struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
		uint8_t buf[1024];
		bool quit = false;
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* the guest went away */
			hv_console_write(&term, buf, (size_t)n);
		}
		if (p[0].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				break;
			size_t left = console_filter(&term, buf, (size_t)n, &quit);

			if (left && write(fd, buf, left) < 0)
				break;
			if (quit)
				break;
		}
	}
	console_restore(&term);
	if (console_tty_owner == &term)
		console_tty_owner = NULL;
	close(fd);
	return r;
}
