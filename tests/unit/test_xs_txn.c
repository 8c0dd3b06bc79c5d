/* SPDX-License-Identifier: MIT */
/* Transactions: isolation, conflicts (EAGAIN), abort, removal, the retry
 * helper, and watches fired at commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_xs_util.h"
#include "cunit_main.h"

static const char *txget(struct xs_client *c, uint32_t tx, const char *path)
{
	static char buf[256];
	char *v;
	size_t len;

	if (xs_read(c, tx, path, &v, &len))
		return NULL;
	snprintf(buf, sizeof(buf), "%s", v);
	free(v);
	return buf;
}

static void test_txn_reads_own_writes_isolated_until_commit(void)
{
	uint32_t tx;

	SETUP(f, c);
	W(c, "/t/a", "old");
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_write(c, tx, "/t/a", "new", 3), 0);
	CU_ASSERT_EQUAL(xs_write(c, tx, "/t/n/m", "created", 7), 0);
	CU_ASSERT_STRING_EQUAL(txget(c, tx, "/t/a"), "new");
	CU_ASSERT_STRING_EQUAL(txget(c, tx, "/t/n"), "");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/t/a"), "old");
	CU_ASSERT_PTR_NULL(xs_get(c, "/t/n/m"));
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), 0);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/t/a"), "new");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/t/n/m"), "created");
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_conflict_on_concurrent_write_gives_eagain(void)
{
	struct xs_client *c2;
	uint32_t tx;

	SETUP(f, c);
	c2 = fx_client(&f);
	W(c, "/t/a", "0");
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_STRING_EQUAL(txget(c, tx, "/t/a"), "0");
	CU_ASSERT_EQUAL(xs_write(c, tx, "/t/b", "1", 1), 0);
	W(c2, "/t/a", "other");
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), -EAGAIN);
	CU_ASSERT_PTR_NULL(xs_get(c, "/t/b"));
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), -ENOENT); /* it is gone */
	xs_client_close(c2);
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_blind_write_conflicts(void)
{
	uint32_t tx;

	SETUP(f, c);
	W(c, "/t/a", "0");
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_write(c, tx, "/t/a", "tx", 2), 0);
	W(c, "/t/a", "outside");
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), -EAGAIN);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/t/a"), "outside");
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_directory_conflicts_with_child_creation(void)
{
	uint32_t tx;
	char **names;
	unsigned n;

	SETUP(f, c);
	W(c, "/t/a", "0");
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_directory(c, tx, "/t", &names, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(names);
	W(c, "/t/new", "1");
	CU_ASSERT_EQUAL(xs_write(c, tx, "/x", "1", 1), 0);
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), -EAGAIN);
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_unrelated_writes_do_not_conflict(void)
{
	uint32_t t1, t2;

	SETUP(f, c);
	W(c, "/p/a", "");
	W(c, "/p/b", "");
	CU_ASSERT_EQUAL(xs_transaction_start(c, &t1), 0);
	CU_ASSERT_EQUAL(xs_transaction_start(c, &t2), 0);
	CU_ASSERT_EQUAL(xs_write(c, t1, "/p/a", "1", 1), 0);
	CU_ASSERT_EQUAL(xs_write(c, t2, "/p/b", "2", 1), 0);
	CU_ASSERT_EQUAL(xs_transaction_end(c, t1, true), 0);
	CU_ASSERT_EQUAL(xs_transaction_end(c, t2, true), 0);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/p/a"), "1");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/p/b"), "2");
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_abort_discards(void)
{
	uint32_t tx;

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_write(c, tx, "/ab", "1", 1), 0);
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, false), 0);
	CU_ASSERT_PTR_NULL(xs_get(c, "/ab"));
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_rm_subtree_and_recreate(void)
{
	uint32_t tx;
	char **names;
	unsigned n;

	SETUP(f, c);
	W(c, "/r/a/b", "1");
	W(c, "/r/a/c", "2");
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_rm(c, tx, "/r/a"), 0);
	CU_ASSERT_PTR_NULL(txget(c, tx, "/r/a/b"));
	CU_ASSERT_EQUAL(xs_write(c, tx, "/r/a/d", "3", 1), 0);
	CU_ASSERT_EQUAL(xs_directory(c, tx, "/r/a", &names, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(names[0], "d");
	free(names);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/r/a/b"), "1");
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), 0);
	CU_ASSERT_PTR_NULL(xs_get(c, "/r/a/b"));
	CU_ASSERT_PTR_NULL(xs_get(c, "/r/a/c"));
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/r/a/d"), "3");
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_unknown_id_is_enoent_and_bad_end_einval(void)
{
	uint32_t tx;

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_write(c, 4242, "/x", "1", 1), -ENOENT);
	CU_ASSERT_EQUAL(xs_transaction_end(c, 4242, true), -ENOENT);
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_TRANSACTION_END, tx, "X", 2, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), 0);
	xs_client_close(c);
	fx_done(&f);
}

struct retry_ctx {
	struct xs_client *other;
	int calls;
};

static int increment(struct xs_client *c, uint32_t tx, void *opaque)
{
	struct retry_ctx *r = opaque;
	char *v, buf[16];
	size_t len;
	int rc = xs_read(c, tx, "/counter", &v, &len);

	if (rc)
		return rc;
	snprintf(buf, sizeof(buf), "%d", atoi(v) + 1);
	free(v);
	if (r->calls++ == 0) /* someone else gets in first, once */
		xs_write(r->other, 0, "/counter", "10", 2);
	return xs_write(c, tx, "/counter", buf, strlen(buf));
}

static void test_txn_retry_helper_succeeds_after_conflict(void)
{
	struct retry_ctx r = { 0 };

	SETUP(f, c);
	r.other = fx_client(&f);
	W(c, "/counter", "1");
	CU_ASSERT_EQUAL(xs_transaction_retry(c, increment, &r, 5), 0);
	CU_ASSERT_EQUAL(r.calls, 2);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/counter"), "11");
	xs_client_close(r.other);
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_commit_fires_watches_not_before(void)
{
	struct evlog ev = { 0 };
	struct xs_client *w;
	uint32_t tx;

	SETUP(f, c);
	w = fx_client(&f);
	CU_ASSERT_EQUAL(xs_watch(w, "/tw", "t", evlog_cb, &ev), 0);
	evlog_drain(w, 30);
	ev.n = 0;
	CU_ASSERT_EQUAL(xs_transaction_start(c, &tx), 0);
	CU_ASSERT_EQUAL(xs_write(c, tx, "/tw/x", "1", 1), 0);
	evlog_drain(w, 50);
	CU_ASSERT_EQUAL(ev.n, 0);
	CU_ASSERT_EQUAL(xs_transaction_end(c, tx, true), 0);
	evlog_drain(w, 50);
	CU_ASSERT(evlog_has(&ev, "/tw/x"));
	xs_client_close(w);
	xs_client_close(c);
	fx_done(&f);
}

static void test_txn_perms_checked_inside_transaction(void)
{
	struct xs_client *g;
	uint32_t tx;
	char *v;

	SETUP(f, c);
	W(c, "/priv", "p");
	g = fx_guest(&f, 2);
	CU_ASSERT_EQUAL(xs_transaction_start(g, &tx), 0);
	CU_ASSERT_EQUAL(xs_read(g, tx, "/priv", &v, NULL), -EACCES);
	CU_ASSERT_EQUAL(xs_write(g, tx, "/priv", "x", 1), -EACCES);
	CU_ASSERT_EQUAL(xs_transaction_end(g, tx, true), 0);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static const struct cunit_test xs_txn_tests[] = {
	CUNIT_TEST(test_txn_reads_own_writes_isolated_until_commit),
	CUNIT_TEST(test_txn_conflict_on_concurrent_write_gives_eagain),
	CUNIT_TEST(test_txn_blind_write_conflicts),
	CUNIT_TEST(test_txn_directory_conflicts_with_child_creation),
	CUNIT_TEST(test_txn_unrelated_writes_do_not_conflict),
	CUNIT_TEST(test_txn_abort_discards),
	CUNIT_TEST(test_txn_rm_subtree_and_recreate),
	CUNIT_TEST(test_txn_unknown_id_is_enoent_and_bad_end_einval),
	CUNIT_TEST(test_txn_retry_helper_succeeds_after_conflict),
	CUNIT_TEST(test_txn_commit_fires_watches_not_before),
	CUNIT_TEST(test_txn_perms_checked_inside_transaction),
};

void test_xs_register_txn(void)
{
	CUNIT_SUITE("xs_txn", NULL, NULL, xs_txn_tests);
}
