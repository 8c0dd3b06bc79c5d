/* SPDX-License-Identifier: MIT */
/* Permission rules, watch firing rules, quotas and persistence. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_xs_util.h"
#include "cunit_main.h"

static void set_perms(struct xs_client *c, const char *p, const char *a, const char *b)
{
	const char *v[] = { a, b };

	CU_ASSERT_EQUAL(xs_set_perms(c, 0, p, v, b ? 2 : 1), 0);
}

static void test_guest_cannot_read_node_without_r(void)
{
	struct xs_client *g;
	char *v;

	SETUP(f, c);
	W(c, "/n", "secret");
	g = fx_guest(&f, 1);
	CU_ASSERT_EQUAL(xs_read(g, 0, "/n", &v, NULL), -EACCES);
	CU_ASSERT_EQUAL(xs_write(g, 0, "/n", "x", 1), -EACCES);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_guest_reads_with_r_but_cannot_write(void)
{
	struct xs_client *g;

	SETUP(f, c);
	W(c, "/n", "pub");
	set_perms(c, "/n", "n0", "r1");
	g = fx_guest(&f, 1);
	CU_ASSERT_STRING_EQUAL(xs_get(g, "/n"), "pub");
	CU_ASSERT_EQUAL(xs_write(g, 0, "/n", "x", 1), -EACCES);
	CU_ASSERT_EQUAL(xs_rm(g, 0, "/n"), -EACCES);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_guest_writes_with_w_but_cannot_read(void)
{
	struct xs_client *g;
	char *v;

	SETUP(f, c);
	W(c, "/n", "a");
	set_perms(c, "/n", "n0", "w1");
	g = fx_guest(&f, 1);
	CU_ASSERT_EQUAL(xs_write(g, 0, "/n", "b", 1), 0);
	CU_ASSERT_EQUAL(xs_read(g, 0, "/n", &v, NULL), -EACCES);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/n"), "b");
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_owner_has_full_access_despite_n(void)
{
	struct xs_client *g;

	SETUP(f, c);
	W(c, "/n", "mine");
	set_perms(c, "/n", "n2", NULL);
	g = fx_guest(&f, 2);
	CU_ASSERT_STRING_EQUAL(xs_get(g, "/n"), "mine");
	CU_ASSERT_EQUAL(xs_write(g, 0, "/n", "x", 1), 0);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_default_perm_applies_to_unlisted_domains(void)
{
	struct xs_client *g3, *g4;
	char *v;

	SETUP(f, c);
	W(c, "/n", "v");
	set_perms(c, "/n", "r0", "n3");
	g3 = fx_guest(&f, 3);
	g4 = fx_guest(&f, 4);
	CU_ASSERT_EQUAL(xs_read(g3, 0, "/n", &v, NULL), -EACCES);
	CU_ASSERT_STRING_EQUAL(xs_get(g4, "/n"), "v");
	xs_client_close(g3);
	xs_client_close(g4);
	xs_client_close(c);
	fx_done(&f);
}

static void test_guest_create_needs_write_on_parent_and_owns_child(void)
{
	struct xs_client *g;
	char *p;
	size_t len;

	SETUP(f, c);
	W(c, "/ro", "");
	W(c, "/rw", "");
	set_perms(c, "/ro", "r0", NULL);
	set_perms(c, "/rw", "b0", NULL);
	g = fx_guest(&f, 6);
	CU_ASSERT_EQUAL(xs_write(g, 0, "/ro/x", "1", 1), -EACCES);
	CU_ASSERT_EQUAL(xs_write(g, 0, "/rw/x/y", "1", 1), 0);
	CU_ASSERT_EQUAL(xs_get_perms(c, 0, "/rw/x/y", &p, &len), 0);
	CU_ASSERT_STRING_EQUAL(p, "b6");
	free(p);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_only_owner_sets_perms_and_cannot_give_away(void)
{
	struct xs_client *g;

	SETUP(f, c);
	W(c, "/n", "");
	set_perms(c, "/n", "b1", NULL); /* writable by all, owned by 1 */
	g = fx_guest(&f, 2);
	CU_ASSERT_EQUAL(xs_set_perms(g, 0, "/n", (const char *[]){ "b2" }, 1), -EACCES);
	xs_client_close(g);
	g = fx_guest(&f, 1);
	CU_ASSERT_EQUAL(xs_set_perms(g, 0, "/n", (const char *[]){ "n1", "r2" }, 2), 0);
	CU_ASSERT_EQUAL(xs_set_perms(g, 0, "/n", (const char *[]){ "n2" }, 1), -EPERM);
	CU_ASSERT_EQUAL(xs_set_perms(g, 0, "/n", (const char *[]){ "x2" }, 1), -EINVAL);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

/* --- watches --- */

static void test_watch_fires_once_on_registration(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_watch(c, "/not/yet", "tok", evlog_cb, &ev), 0);
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 1);
	CU_ASSERT_STRING_EQUAL(ev.path[0], "/not/yet");
	CU_ASSERT_STRING_EQUAL(ev.token[0], "tok");
	xs_client_close(c);
	fx_done(&f);
}

static void test_watch_fires_on_node_and_subtree_write(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_watch(c, "/a", "t", evlog_cb, &ev), 0);
	evlog_drain(c, 30);
	ev.n = 0;
	W(c, "/a", "1");
	W(c, "/a/b/c", "2");
	evlog_drain(c, 50);
	CU_ASSERT(evlog_has(&ev, "/a"));
	CU_ASSERT(evlog_has(&ev, "/a/b"));
	CU_ASSERT(evlog_has(&ev, "/a/b/c"));
	xs_client_close(c);
	fx_done(&f);
}

static void test_watch_not_fired_by_sibling_or_parent_write(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	W(c, "/a/b", "");
	CU_ASSERT_EQUAL(xs_watch(c, "/a/b", "t", evlog_cb, &ev), 0);
	evlog_drain(c, 30);
	ev.n = 0;
	W(c, "/a/c", "1");
	W(c, "/a", "parent");
	W(c, "/a/bb", "prefix but not child");
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 0);
	xs_client_close(c);
	fx_done(&f);
}

static void test_watch_fires_when_ancestor_removed(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	W(c, "/a/b/c", "");
	CU_ASSERT_EQUAL(xs_watch(c, "/a/b/c", "t", evlog_cb, &ev), 0);
	evlog_drain(c, 30);
	ev.n = 0;
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/a"), 0);
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 1);
	CU_ASSERT_STRING_EQUAL(ev.path[0], "/a/b/c");
	xs_client_close(c);
	fx_done(&f);
}

static void test_relative_watch_reports_relative_path(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	W(c, "rel", "");
	CU_ASSERT_EQUAL(xs_watch(c, "rel", "t", evlog_cb, &ev), 0);
	evlog_drain(c, 30);
	CU_ASSERT_STRING_EQUAL(ev.path[0], "rel");
	W(c, "/local/domain/0/rel/x", "1");
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 2);
	CU_ASSERT_STRING_EQUAL(ev.path[1], "rel/x");
	xs_client_close(c);
	fx_done(&f);
}

static void test_unwatch_stops_events_and_duplicate_is_eexist(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_watch(c, "/u", "t", evlog_cb, &ev), 0);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_WATCH, 0, "/u\0t", 5, NULL, NULL), -EEXIST);
	CU_ASSERT_EQUAL(xs_unwatch(c, "/u", "t"), 0);
	CU_ASSERT_EQUAL(xs_unwatch(c, "/u", "t"), -ENOENT);
	evlog_drain(c, 30);
	ev.n = 0;
	W(c, "/u", "1");
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 0);
	xs_client_close(c);
	fx_done(&f);
}

static void test_watch_not_delivered_without_read_perm(void)
{
	struct evlog ev = { 0 };
	struct xs_client *g;

	SETUP(f, c);
	W(c, "/shared/open", "");
	W(c, "/shared/closed", "");
	set_perms(c, "/shared/open", "r0", NULL);
	g = fx_guest(&f, 3);
	CU_ASSERT_EQUAL(xs_watch(g, "/shared", "t", evlog_cb, &ev), 0);
	evlog_drain(g, 30);
	ev.n = 0;
	W(c, "/shared/closed", "x");
	W(c, "/shared/open", "y");
	evlog_drain(g, 50);
	CU_ASSERT_EQUAL(ev.n, 1);
	CU_ASSERT_STRING_EQUAL(ev.path[0], "/shared/open");
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

/* --- quotas --- */

static struct xs_client *quota_guest(struct fx *f, struct xs_client *c, unsigned domid)
{
	fx_make_home(c, domid);
	return fx_guest(f, domid);
}

static void test_quota_nodes_per_domain_equota(void)
{
	struct xs_quota q;
	struct fx f;
	struct xs_client *c, *g, *g2;
	char p[32];

	xs_quota_defaults(&q);
	q.nodes_per_domain = 5;
	CU_ASSERT_FATAL(fx_start(&f, &q) == 0);
	c = fx_client(&f);
	g = quota_guest(&f, c, 1); /* the home counts: 1 node */
	g2 = quota_guest(&f, c, 2);
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "n%d", i);
		CU_ASSERT_EQUAL(xs_write(g, 0, p, "", 0), 0);
	}
	CU_ASSERT_EQUAL(xs_write(g, 0, "one-too-many", "", 0), -EDQUOT);
	CU_ASSERT_EQUAL(xs_write(g, 0, "n0", "rewrite ok", 10), 0);
	/* Others are not affected. */
	CU_ASSERT_EQUAL(xs_write(g2, 0, "n0", "", 0), 0);
	CU_ASSERT_EQUAL(xs_rm(g, 0, "n0"), 0);
	CU_ASSERT_EQUAL(xs_write(g, 0, "fits-again", "", 0), 0);
	CU_ASSERT_EQUAL(xs_write(c, 0, "/local/domain/1/by-dom0", "", 0), 0);
	xs_client_close(g2);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_quota_node_size_perms_path_equota(void)
{
	struct xs_quota q;
	struct fx f;
	struct xs_client *c, *g;
	char big[200], path[128];

	xs_quota_defaults(&q);
	q.node_size = 100;
	q.perms_per_node = 2;
	q.path_len = 40;
	CU_ASSERT_FATAL(fx_start(&f, &q) == 0);
	c = fx_client(&f);
	g = quota_guest(&f, c, 1);
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(xs_write(g, 0, "v", big, 100), 0);
	CU_ASSERT_EQUAL(xs_write(g, 0, "v", big, 101), -EDQUOT);
	CU_ASSERT_EQUAL(xs_write(c, 0, "/local/domain/1/v", big, 200), 0); /* dom0: none */
	CU_ASSERT_EQUAL(xs_set_perms(g, 0, "v", (const char *[]){ "n1", "r2" }, 2), 0);
	CU_ASSERT_EQUAL(xs_set_perms(g, 0, "v", (const char *[]){ "n1", "r2", "r3" }, 3), -EDQUOT);
	/* Xen counts the path after "/local/domain/<id>": "/" + 39 = 40. */
	memset(path, 'p', sizeof(path));
	path[39] = '\0';
	CU_ASSERT_EQUAL(xs_write(g, 0, path, "", 0), 0);
	path[39] = 'p';
	path[40] = '\0';
	CU_ASSERT_EQUAL(xs_write(g, 0, path, "", 0), -EINVAL);
	snprintf(path, sizeof(path), "/local/domain/1/%039d", 0);
	CU_ASSERT_EQUAL(xs_write(g, 0, path, "", 0), 0);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_quota_watches_and_transactions_equota(void)
{
	struct xs_quota q;
	struct fx f;
	struct xs_client *c, *g;
	uint32_t tx[3];
	char p[32];

	xs_quota_defaults(&q);
	q.watches_per_domain = 2;
	q.txns_per_domain = 2;
	CU_ASSERT_FATAL(fx_start(&f, &q) == 0);
	c = fx_client(&f);
	g = quota_guest(&f, c, 1);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "w%d", i);
		CU_ASSERT_EQUAL(xs_watch(g, p, "t", NULL, NULL), i < 2 ? 0 : -EDQUOT);
	}
	CU_ASSERT_EQUAL(xs_transaction_start(g, &tx[0]), 0);
	CU_ASSERT_EQUAL(xs_transaction_start(g, &tx[1]), 0);
	CU_ASSERT_EQUAL(xs_transaction_start(g, &tx[2]), -EDQUOT);
	CU_ASSERT_EQUAL(xs_transaction_end(g, tx[0], false), 0);
	CU_ASSERT_EQUAL(xs_transaction_start(g, &tx[2]), 0);
	for (int i = 0; i < 5; i++) /* domain 0: no quota */
		CU_ASSERT_EQUAL(xs_transaction_start(c, &tx[0]), 0);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

/* --- persistence --- */

static void test_tree_and_perms_survive_restart(void)
{
	char *p;
	size_t len;

	SETUP(f, c);
	W(c, "/keep/a", "1");
	W(c, "/keep/b", "2");
	W(c, "/gone", "3");
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/gone"), 0);
	set_perms(c, "/keep/a", "n4", "r5");
	xs_client_close(c);
	fx_stop(&f);
	CU_ASSERT_FATAL(fx_restart(&f) == 0);
	c = fx_client(&f);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/keep/a"), "1");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/keep/b"), "2");
	CU_ASSERT_PTR_NULL(xs_get(c, "/gone"));
	CU_ASSERT_EQUAL(xs_get_perms(c, 0, "/keep/a", &p, &len), 0);
	CU_ASSERT_EQUAL(memcmp(p, "n4\0r5", 6), 0);
	free(p);
	xs_client_close(c);
	fx_done(&f);
}

static void test_torn_journal_tail_is_dropped(void)
{
	char jpath[200];
	int fd;

	SETUP(f, c);
	W(c, "/t", "before");
	xs_client_close(c);
	fx_stop(&f);
	snprintf(jpath, sizeof(jpath), "%s/journal", f.state);
	fd = open(jpath, O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "XSJR\x40\0\0\0garbage", 15), 15); /* a torn record */
	close(fd);
	CU_ASSERT_FATAL(fx_restart(&f) == 0);
	c = fx_client(&f);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/t"), "before");
	W(c, "/t2", "after");
	xs_client_close(c);
	fx_stop(&f);
	CU_ASSERT_FATAL(fx_restart(&f) == 0);
	c = fx_client(&f);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/t2"), "after");
	xs_client_close(c);
	fx_done(&f);
}

static void test_snapshot_plus_journal_survive_restart(void)
{
	struct fx f;
	struct xs_client *c;
	char p[32];

	CU_ASSERT_FATAL(fx_start(&f, NULL) == 0);
	fx_stop(&f);
	f.opts.snapshot_every = 7;
	CU_ASSERT_FATAL(fx_restart(&f) == 0);
	c = fx_client(&f);
	for (int i = 0; i < 30; i++) {
		snprintf(p, sizeof(p), "/s/%d", i);
		CU_ASSERT_EQUAL(xs_write(c, 0, p, p, strlen(p)), 0);
	}
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/s/3"), 0);
	xs_client_close(c);
	fx_stop(&f);
	CU_ASSERT_FATAL(fx_restart(&f) == 0);
	c = fx_client(&f);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/s/29"), "/s/29");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/s/0"), "/s/0");
	CU_ASSERT_PTR_NULL(xs_get(c, "/s/3"));
	xs_client_close(c);
	fx_done(&f);
}

static void test_client_reconnects_and_rewatches_after_restart(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_watch(c, "/rw", "t", evlog_cb, &ev), 0);
	evlog_drain(c, 30);
	fx_stop(&f);
	CU_ASSERT_FATAL(fx_restart(&f) == 0);
	W(c, "/rw/x", "1"); /* reconnects, re-registers the watch, retries */
	evlog_drain(c, 100);
	CU_ASSERT(evlog_has(&ev, "/rw/x"));
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/rw/x"), "1");
	xs_client_close(c);
	fx_done(&f);
}

static const struct cunit_test xs_perms_tests[] = {
	CUNIT_TEST(test_guest_cannot_read_node_without_r),
	CUNIT_TEST(test_guest_reads_with_r_but_cannot_write),
	CUNIT_TEST(test_guest_writes_with_w_but_cannot_read),
	CUNIT_TEST(test_owner_has_full_access_despite_n),
	CUNIT_TEST(test_default_perm_applies_to_unlisted_domains),
	CUNIT_TEST(test_guest_create_needs_write_on_parent_and_owns_child),
	CUNIT_TEST(test_only_owner_sets_perms_and_cannot_give_away),
	CUNIT_TEST(test_watch_fires_once_on_registration),
	CUNIT_TEST(test_watch_fires_on_node_and_subtree_write),
	CUNIT_TEST(test_watch_not_fired_by_sibling_or_parent_write),
	CUNIT_TEST(test_watch_fires_when_ancestor_removed),
	CUNIT_TEST(test_relative_watch_reports_relative_path),
	CUNIT_TEST(test_unwatch_stops_events_and_duplicate_is_eexist),
	CUNIT_TEST(test_watch_not_delivered_without_read_perm),
	CUNIT_TEST(test_quota_nodes_per_domain_equota),
	CUNIT_TEST(test_quota_node_size_perms_path_equota),
	CUNIT_TEST(test_quota_watches_and_transactions_equota),
	CUNIT_TEST(test_tree_and_perms_survive_restart),
	CUNIT_TEST(test_torn_journal_tail_is_dropped),
	CUNIT_TEST(test_snapshot_plus_journal_survive_restart),
	CUNIT_TEST(test_client_reconnects_and_rewatches_after_restart),
};

void test_xs_register_perms(void)
{
	CUNIT_SUITE("xs_perms_watch_quota_persist", NULL, NULL, xs_perms_tests);
}
