/* SPDX-License-Identifier: MIT */
/* Run-directory entries of running guests (rundir.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rundir.h"

int hv_rundir_path(char *buf, size_t len, bool create)
{
	const char *env = getenv("PVKVM_RUN_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/pvkvm");
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/pvkvm", xdg);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

bool hv_guest_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 47 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int hv_rundir_file(char *buf, size_t len, const char *name, const char *suffix)
{
	char dir[256];
	int r = hv_rundir_path(dir, sizeof(dir), false);

	if (r < 0)
		return r;
	r = snprintf(buf, len, "%s/%s%s", dir, name, suffix);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int hv_rundir_claim(struct hv_rundir_entry *e, const char *name)
{
	char path[512], pid[32];
	int r;

	e->pid_fd = -1;
	e->domid_fd = -1;
	snprintf(e->name, sizeof(e->name), "%s", name);
	if ((r = hv_rundir_path(e->dir, sizeof(e->dir), true)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.pid", e->dir, name);
	e->pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (e->pid_fd < 0)
		return -errno;
	if (flock(e->pid_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EEXIST : -errno;
		close(e->pid_fd);
		e->pid_fd = -1;
		return r;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(e->pid_fd, 0) < 0 || pwrite(e->pid_fd, pid, strlen(pid), 0) < 0)
		return -errno;
	return 0;
}

int hv_rundir_write(const struct hv_rundir_entry *e, const char *suffix, const char *text)
{
	char path[512], tmp[520];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s%s", e->dir, e->name, suffix);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		r = -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	return r;
}

void hv_rundir_release(struct hv_rundir_entry *e)
{
	static const char *const suffixes[] = { ".info", ".console", ".pid" };
	char path[512];

	if (e->domid_fd >= 0) {
		close(e->domid_fd); /* the lock file stays: unlinking one races with a claimer */
		e->domid_fd = -1;
	}
	if (e->pid_fd < 0)
		return;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", e->dir, e->name, suffixes[i]);
		unlink(path);
	}
	close(e->pid_fd);
	e->pid_fd = -1;
}

int hv_rundir_claim_domid(struct hv_rundir_entry *e)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/domid", e->dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	for (unsigned id = 1; id <= HV_DOMID_MAX; id++) {
		snprintf(path, sizeof(path), "%s/domid/%u.lock", e->dir, id);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			e->domid_fd = fd;
			e->domid = (uint16_t)id;
			return 0;
		}
		int err = errno;

		close(fd);
		if (err != EWOULDBLOCK)
			return -err;
	}
	return -EAGAIN;
}

int hv_rundir_live_pid(const char *name, pid_t *pid)
{
	char path[512], buf[32] = "";
	int fd, r = hv_rundir_file(path, sizeof(path), name, ".pid");

	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	/* A live guest holds an exclusive lock; getting a shared one means stale. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return -ESRCH;
	}
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	close(fd);
	if (n <= 0)
		return -ESRCH;
	*pid = (pid_t)strtol(buf, NULL, 10);
	return *pid > 0 ? 0 : -ESRCH;
}
