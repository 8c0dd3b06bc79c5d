/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blkback_fake_guest.h"

struct harness_guest *fg_guest_new(unsigned ram_mib)
{
	struct harness_guest *g;

	if (harness_guest_new(&g, (uint64_t)ram_mib << 20, 1))
		return NULL;
	if (pvfront_gnt_setup(&g->front, PVKVM_GNT_MAX_FRAMES)) {
		harness_guest_free(g);
		return NULL;
	}
	return g;
}

void *fg_alloc(struct harness_guest *g, size_t bytes)
{
	uint8_t *first = NULL;

	for (size_t off = 0; off < bytes; off += 4096) {
		uint8_t *p = harness_alloc_page(g);

		if (!p || (first && p != first + off))
			return NULL;
		if (!first)
			first = p;
	}
	return first;
}

int fg_image_new(char *buf, size_t cap, uint64_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(buf, cap, "%s/blkback-XXXXXX", dir && *dir ? dir : "/var/tmp");
	fd = mkstemp(buf);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

void fg_features_from(struct blkfront *bf, struct blkback_dev *d)
{
	const struct blkback_disk_opts *o = blkback_dev_opts(d);

	bf->feat = (struct blkfront_features){
		.sectors = blkback_dev_sectors(d), .sector_size = blkback_dev_sector_size(d),
		.readonly = o->readonly, .flush = true, .fua = true, .discard = o->discard,
		.write_zeroes = !o->readonly, .max_indirect_segs = o->max_indirect_segs,
		.max_queues = o->max_queues, .max_ring_order = o->max_ring_page_order,
	};
}

int fg_connect(struct blkback_dev *d, struct pvback_dom *dom, struct blkfront *bf)
{
	struct blkback_queue_cfg q[BLKFRONT_MAX_QUEUES];

	memset(q, 0, sizeof(q));
	for (unsigned i = 0; i < bf->nr_queues; i++) {
		q[i].ring_order = bf->ring_order;
		memcpy(q[i].ring_ref, bf->q[i].ring_ref, sizeof(bf->q[i].ring_ref));
		q[i].port = bf->q[i].port;
	}
	return blkback_dev_connect(d, dom, q, bf->nr_queues);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int fg_wait_one(struct blkfront *bf, unsigned q, uint64_t *tag)
{
	struct blkfront_cpl c;
	uint64_t t0 = ms_now();

	for (;;) {
		int n = blkfront_poll(bf, q, &c, 1);

		if (n < 0)
			return -2000 + n;
		if (n == 1) {
			if (tag)
				*tag = c.tag;
			return c.status;
		}
		if (ms_now() - t0 > 10000)
			return -1000;
		sched_yield();
	}
}

int fg_io(struct blkfront *bf, unsigned q, uint8_t op, uint8_t flags, uint64_t sector,
	  void *buf, uint32_t len, struct harness_guest *g)
{
	struct blkfront_io io = { .op = op, .flags = flags, .sector = sector, .tag = 42 };
	int err;

	if (op == BLKIF_OP_DISCARD || op == BLKIF_OP_WRITE_ZEROES) {
		io.nr_sectors = len / 512;
	} else if (buf) {
		io.buf_gpa = harness_gpa(g, buf);
		io.len_bytes = len;
	}
	if ((err = blkfront_submit(bf, q, &io)))
		return -2000 + err;
	blkfront_kick(bf, q);
	return fg_wait_one(bf, q, NULL);
}

void fg_fill(void *buf, size_t len, uint64_t sector, uint32_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = (sector + i / 64) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32) ^ i;
}

int fg_spawn_blkback(const char *const *args)
{
	char exe[4096], bin[4200];
	const char *argv[32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	unsigned i = 0;
	pid_t pid;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(bin, sizeof(bin), "%s/../bin/pvkvm-blkback", exe);
	argv[i++] = bin;
	while (args[i - 1] && i < 31) {
		argv[i] = args[i - 1];
		i++;
	}
	argv[i] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void fg_kill9(int pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int fg_write_stream(struct blkfront *bf, struct harness_guest *g, uint8_t *buf, unsigned n_ios,
		    uint32_t io_bytes, unsigned qd, unsigned mid_after, void (*mid)(void *), void *opaque)
{
	unsigned next = 0, done = 0;
	bool mid_done = false;

	while (done < n_ios) {
		while (next < n_ios && blkfront_in_flight(bf, 0) < qd) {
			struct blkfront_io io = { .op = BLKIF_OP_WRITE, .len_bytes = io_bytes, .tag = next,
						  .sector = (uint64_t)next * io_bytes / 512,
						  .buf_gpa = harness_gpa(g, buf + (size_t)next * io_bytes) };

			if (blkfront_submit(bf, 0, &io))
				break;
			next++;
		}
		blkfront_kick(bf, 0);
		if (!mid_done && done >= mid_after) {
			mid_done = true;
			mid(opaque);
		}
		int st = fg_wait_one(bf, 0, NULL);

		if (st)
			return st;
		done++;
	}
	return 0;
}
