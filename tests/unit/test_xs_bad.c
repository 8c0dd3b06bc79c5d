/* SPDX-License-Identifier: MIT */
/* Hostile input: the daemon answers with an error or closes that one
 * connection, and keeps serving everybody else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_xs_util.h"
#include "xs_internal.h"
#include "cunit_main.h"

/* The daemon still serves a fresh, well-behaved client. */
static bool still_serving(struct fx *f)
{
	struct xs_client *c = fx_client(f);
	bool ok;

	if (!c)
		return false;
	ok = xs_write(c, 0, "/alive", "1", 1) == 0 && xs_get(c, "/alive");
	xs_client_close(c);
	return ok;
}

static void test_oversized_header_closes_only_that_connection(void)
{
	struct xsd_sockmsg h = { XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1 };
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int fd, good;

	SETUP(f, c);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(send(fd, &h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, 2000), -ECONNRESET);
	close(fd);
	good = raw_connect(&f);
	CU_ASSERT_EQUAL(raw_call(good, XS_WRITE, "/ok\0v", 5, buf), XS_WRITE);
	close(good);
	W(c, "/still", "fine");
	xs_client_close(c);
	fx_done(&f);
}

static void test_truncated_header_and_payload_then_close_is_harmless(void)
{
	struct xsd_sockmsg h = { XS_WRITE, 1, 0, 100 };
	int fd;

	SETUP(f, c);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(send(fd, &h, 7, MSG_NOSIGNAL), 7);
	close(fd);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(send(fd, &h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(send(fd, "/x\0short", 8, MSG_NOSIGNAL), 8); /* len says 100 */
	CU_ASSERT(still_serving(&f));
	close(fd);
	CU_ASSERT(still_serving(&f));
	CU_ASSERT_PTR_NULL(xs_get(c, "/x"));
	xs_client_close(c);
	fx_done(&f);
}

static void test_string_without_nul_is_einval(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int fd;

	SETUP(f, c);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(raw_call(fd, XS_READ, "/abc", 4, buf), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EINVAL");
	CU_ASSERT_EQUAL(raw_call(fd, XS_WATCH, "/abc\0tok", 8, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_WRITE, "/abc", 4, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_GET_DOMAIN_PATH, "12", 2, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_READ, "", 0, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_WRITE, "/ok\0", 4, buf), XS_WRITE);
	close(fd);
	xs_client_close(c);
	fx_done(&f);
}

static void test_invalid_paths_are_einval(void)
{
	static const char *const bad[] = {
		"/a b", "/a//b", "/a/", "//", "/a\\b", "/\xc3\xa4", "/a/./b:c", "/a*", "",
	};
	char *v;

	SETUP(f, c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(xs_write(c, 0, bad[i], "x", 1), -EINVAL);
		CU_ASSERT_EQUAL(xs_read(c, 0, bad[i], &v, NULL), -EINVAL);
	}
	CU_ASSERT_EQUAL(xs_watch(c, "@bogusSpecial", "t", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xs_write(c, 0, "/ok-path_with@chars-1", "x", 1), 0);
	xs_client_close(c);
	fx_done(&f);
}

static void test_path_length_limits(void)
{
	char path[XENSTORE_ABS_PATH_MAX + 2];

	SETUP(f, c);
	/* 3072 bytes is the longest absolute path. */
	memset(path, 'a', sizeof(path));
	for (int i = 0; i < XENSTORE_ABS_PATH_MAX; i += 100)
		path[i] = '/';
	path[XENSTORE_ABS_PATH_MAX] = '\0';
	CU_ASSERT_EQUAL(xs_write(c, 0, path, "x", 1), 0);
	path[XENSTORE_ABS_PATH_MAX] = 'a';
	path[XENSTORE_ABS_PATH_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(xs_write(c, 0, path, "x", 1), -EINVAL);
	xs_client_close(c);
	fx_done(&f);
}

static void test_unknown_type_is_einval_connection_survives(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int fd;

	SETUP(f, c);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(raw_call(fd, 20, "", 0, buf), XS_ERROR); /* removed XS_RESTRICT */
	CU_ASSERT_EQUAL(raw_call(fd, 9999, "x", 1, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_ERROR, "", 0, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_WATCH_EVENT, "/a\0b", 5, buf), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EINVAL");
	CU_ASSERT_EQUAL(raw_call(fd, XS_WRITE, "/ok\0", 4, buf), XS_WRITE);
	close(fd);
	xs_client_close(c);
	fx_done(&f);
}

static void test_out_of_order_req_ids_are_echoed(void)
{
	static const uint32_t ids[] = { 900, 3, 0xffffffffu, 3, 17 };
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	int fd;

	SETUP(f, c);
	fd = raw_connect(&f);
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(raw_send(fd, XS_WRITE, ids[i], 0, "/o\0v", 4), 0);
	for (size_t i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(raw_recv(fd, &h, buf, 2000), 0);
		CU_ASSERT_EQUAL(h.req_id, ids[i]);
		CU_ASSERT_EQUAL(h.type, XS_WRITE);
	}
	close(fd);
	xs_client_close(c);
	fx_done(&f);
}

static void test_bad_numbers_and_perm_strings_are_einval(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int fd;

	SETUP(f, c);
	W(c, "/p", "");
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(raw_call(fd, XS_SET_PERMS, "/p\0q0", 6, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_SET_PERMS, "/p\0r", 5, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_SET_PERMS, "/p\0r99999999", 13, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_SET_PERMS, "/p\0", 3, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_INTRODUCE, "-1\0" "1\0" "1", 7, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_GET_DOMAIN_PATH, "65536", 6, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_DIRECTORY_PART, "/p\0zz", 6, buf), XS_ERROR);
	CU_ASSERT_EQUAL(raw_call(fd, XS_DIRECTORY_PART, "/p\0" "99", 6, buf), XS_ERROR);
	close(fd);
	xs_client_close(c);
	fx_done(&f);
}

static void test_watch_storm_delivers_every_event(void)
{
	char p[64];
	int fd, events = 0;
	struct xsd_sockmsg h;
	char buf[XENSTORE_PAYLOAD_MAX + 1];

	SETUP(f, c);
	fd = raw_connect(&f);
	for (int i = 0; i < 500; i++) {
		int n = snprintf(p, sizeof(p), "/storm/%d%ct%d", i, '\0', i);

		CU_ASSERT_EQUAL(raw_call(fd, XS_WATCH, p, (size_t)n + 1, buf), XS_WATCH);
	}
	while (raw_recv(fd, &h, buf, 100) == 0) /* the registration events */
		;
	for (int i = 0; i < 500; i++) {
		snprintf(p, sizeof(p), "/storm/%d", i);
		W(c, p, "x");
	}
	while (raw_recv(fd, &h, buf, 200) == 0)
		events += h.type == XS_WATCH_EVENT;
	CU_ASSERT_EQUAL(events, 500);
	close(fd);
	CU_ASSERT(still_serving(&f));
	xs_client_close(c);
	fx_done(&f);
}

static void test_client_that_stops_reading_is_dropped_others_served(void)
{
	struct xs_quota q;
	struct fx f;
	struct xs_client *c;
	char big[2000], buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	int fd, rc = 0;

	xs_quota_defaults(&q);
	q.outq_bytes = 256 * 1024;
	CU_ASSERT_FATAL(fx_start(&f, &q) == 0);
	c = fx_client(&f);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(raw_call(fd, XS_WATCH, "/flood\0t", 9, buf), XS_WATCH);
	memset(big, 'z', sizeof(big));
	/* ~20 MB of events for a reader that never reads. */
	for (int i = 0; i < 10000; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/flood/%d", i % 50);
		CU_ASSERT_EQUAL_FATAL(xs_write(c, 0, p, big, sizeof(big)), 0);
	}
	W(c, "/other", "ok");
	while ((rc = raw_recv(fd, &h, buf, 500)) == 0)
		;
	CU_ASSERT_EQUAL(rc, -ECONNRESET);
	close(fd);
	xs_client_close(c);
	fx_done(&f);
}

/* A guest pipelining far past its outstanding-request quota is paused, not
 * failed: it gets every reply, in order, once it reads. */
static void test_outstanding_quota_pauses_guest_without_loss(void)
{
	enum { N = 3000, MSG = sizeof(struct xsd_sockmsg) + 2 };
	char buf[XENSTORE_PAYLOAD_MAX + 1], *reqs = malloc(N * MSG);
	struct xsd_sockmsg h;
	size_t sent = 0;
	int fd, got = 0;

	SETUP(f, c);
	fd = raw_connect(&f);
	CU_ASSERT_EQUAL(raw_call(fd, XS_PVKVM_HANDOVER, "1", 2, buf), XS_PVKVM_HANDOVER);
	for (int i = 0; i < N; i++) {
		struct xsd_sockmsg r = { XS_GET_DOMAIN_PATH, (uint32_t)i, 0, 2 };

		memcpy(reqs + i * MSG, &r, sizeof(r));
		memcpy(reqs + i * MSG + sizeof(r), "1", 2);
	}
	while (got < N) {
		if (sent < (size_t)N * MSG) {
			ssize_t n = send(fd, reqs + sent, (size_t)N * MSG - sent,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
		}
		if (raw_recv(fd, &h, buf, 2000))
			break;
		CU_ASSERT_EQUAL(h.req_id, (uint32_t)got);
		got++;
	}
	CU_ASSERT_EQUAL(got, N);
	free(reqs);
	close(fd);
	xs_client_close(c);
	fx_done(&f);
}

static void test_transaction_churn_and_abandoned_transactions(void)
{
	uint32_t tx;
	int fd;
	char buf[XENSTORE_PAYLOAD_MAX + 1];

	SETUP(f, c);
	for (int i = 0; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(xs_transaction_start(c, &tx), 0);
		CU_ASSERT_EQUAL(xs_write(c, tx, "/churn", "x", 1), 0);
		CU_ASSERT_EQUAL(xs_transaction_end(c, tx, i % 2), 0);
	}
	fd = raw_connect(&f);
	for (int i = 0; i < 50; i++)
		CU_ASSERT_EQUAL(raw_call(fd, XS_TRANSACTION_START, "", 1, buf), XS_TRANSACTION_START);
	close(fd); /* 50 open transactions die with the connection */
	CU_ASSERT(still_serving(&f));
	xs_client_close(c);
	fx_done(&f);
}

static void test_random_garbage_from_many_clients(void)
{
	unsigned seed = 12345;
	char junk[8192];
	int fds[20];

	SETUP(f, c);
	for (int k = 0; k < 20; k++) {
		fds[k] = raw_connect(&f);
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(rand_r(&seed) & (k & 1 ? 0x1f : 0xff));
		/* Half the clients send small types and lengths so messages parse. */
		send(fds[k], junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	CU_ASSERT(still_serving(&f));
	for (int k = 0; k < 20; k++)
		close(fds[k]);
	CU_ASSERT(still_serving(&f));
	xs_client_close(c);
	fx_done(&f);
}

/* The validators themselves, with the hostile cases. */
static void test_path_validator_rejects_hostile_paths(void)
{
	char longp[XENSTORE_ABS_PATH_MAX + 2];

	CU_ASSERT(xs_path_valid("/", 1));
	CU_ASSERT(xs_path_valid("/a-b_c@d/0", 10));
	CU_ASSERT(!xs_path_valid("", 0));
	CU_ASSERT(!xs_path_valid("a", 1));
	CU_ASSERT(!xs_path_valid("//", 2));
	CU_ASSERT(!xs_path_valid("/a/", 3));
	CU_ASSERT(!xs_path_valid("/a\0b", 4)); /* embedded NUL */
	CU_ASSERT(!xs_path_valid("/a\nb", 4));
	CU_ASSERT(!xs_path_valid("/\xff", 2));
	CU_ASSERT(!xs_path_valid("/a/../b", 7));
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	CU_ASSERT(xs_path_valid(longp, XENSTORE_ABS_PATH_MAX));
	CU_ASSERT(!xs_path_valid(longp, XENSTORE_ABS_PATH_MAX + 1));
}

static void test_perms_parser_rejects_hostile_strings(void)
{
	struct xs_perm p[4];
	unsigned n;

	CU_ASSERT_EQUAL(xs_perms_parse("r0\0w65535\0", 10, p, 4, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(p[1].domid, 65535);
	CU_ASSERT_EQUAL(p[1].perm, XS_PERM_WRITE);
	CU_ASSERT_EQUAL(xs_perms_parse("b7", 2, p, 4, &n), 0); /* last NUL optional */
	CU_ASSERT_EQUAL(xs_perms_parse("r65536", 6, p, 4, &n), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("r-1", 3, p, 4, &n), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("x1", 2, p, 4, &n), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("r", 1, p, 4, &n), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("r1\0\0", 4, p, 4, &n), -EINVAL); /* empty entry */
	CU_ASSERT_EQUAL(xs_perms_parse("", 0, p, 4, &n), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("r1\0r2\0r3\0r4\0r5", 14, p, 4, &n), -ENOSPC);
	CU_ASSERT_EQUAL(xs_perms_parse("r00000001", 9, p, 4, &n), -EINVAL); /* too long */
}

static const struct cunit_test xs_bad_tests[] = {
	CUNIT_TEST(test_oversized_header_closes_only_that_connection),
	CUNIT_TEST(test_truncated_header_and_payload_then_close_is_harmless),
	CUNIT_TEST(test_string_without_nul_is_einval),
	CUNIT_TEST(test_invalid_paths_are_einval),
	CUNIT_TEST(test_path_length_limits),
	CUNIT_TEST(test_unknown_type_is_einval_connection_survives),
	CUNIT_TEST(test_out_of_order_req_ids_are_echoed),
	CUNIT_TEST(test_bad_numbers_and_perm_strings_are_einval),
	CUNIT_TEST(test_watch_storm_delivers_every_event),
	CUNIT_TEST(test_client_that_stops_reading_is_dropped_others_served),
	CUNIT_TEST(test_outstanding_quota_pauses_guest_without_loss),
	CUNIT_TEST(test_transaction_churn_and_abandoned_transactions),
	CUNIT_TEST(test_random_garbage_from_many_clients),
	CUNIT_TEST(test_path_validator_rejects_hostile_paths),
	CUNIT_TEST(test_perms_parser_rejects_hostile_strings),
};

void test_xs_register_bad(void)
{
	CUNIT_SUITE("xs_bad_input", NULL, NULL, xs_bad_tests);
}
