/* SPDX-License-Identifier: MIT */
/* pvkvm-stored: every operation, the permission rules, watch firing rules,
 * quotas and persistence, against a daemon running in this process. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_xs_util.h"
#include "cunit_main.h"

static int ls_count(struct xs_client *c, const char *p, char *joined, size_t size)
{
	char **names;
	unsigned n;
	int rc = xs_directory(c, 0, p, &names, &n);

	if (rc)
		return rc;
	joined[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		size_t used = strlen(joined);

		if (used + strlen(names[i]) + 2 <= size)
			snprintf(joined + used, size - used, "%s,", names[i]);
	}
	free(names);
	return (int)n;
}

static void test_write_then_read_returns_value(void)
{
	SETUP(f, c);
	W(c, "/a", "hello");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/a"), "hello");
	W(c, "/a", "");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/a"), "");
	xs_client_close(c);
	fx_done(&f);
}

static void test_write_creates_missing_parents_empty(void)
{
	char l[256];

	SETUP(f, c);
	W(c, "/x/y/z", "v");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/x"), "");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/x/y"), "");
	CU_ASSERT_EQUAL(ls_count(c, "/x/y", l, sizeof(l)), 1);
	CU_ASSERT_STRING_EQUAL(l, "z,");
	xs_client_close(c);
	fx_done(&f);
}

static void test_read_missing_is_enoent(void)
{
	char *v;

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_read(c, 0, "/nope", &v, NULL), -ENOENT);
	CU_ASSERT_EQUAL(xs_read(c, 0, "/nope/deeper", &v, NULL), -ENOENT);
	xs_client_close(c);
	fx_done(&f);
}

static void test_directory_lists_children_in_creation_order(void)
{
	char l[256];

	SETUP(f, c);
	W(c, "/d/c", "1");
	W(c, "/d/a", "2");
	W(c, "/d/b", "3");
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/d/a"), 0);
	W(c, "/d/a", "4");
	CU_ASSERT_EQUAL(ls_count(c, "/d", l, sizeof(l)), 3);
	CU_ASSERT_STRING_EQUAL(l, "c,b,a,");
	CU_ASSERT_EQUAL(ls_count(c, "/d/c", l, sizeof(l)), 0);
	xs_client_close(c);
	fx_done(&f);
}

static void test_directory_part_pages_large_directory(void)
{
	char name[128], req[64], *reply;
	size_t len, offset = 0, total = 0;
	int children = 0;

	SETUP(f, c);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "/big/child-with-a-rather-long-name-%04d", i);
		W(c, name, "x");
	}
	/* The client falls back to DIRECTORY_PART when DIRECTORY says E2BIG. */
	CU_ASSERT_EQUAL(xs_client_request(c, XS_DIRECTORY, 0, "/big", 5, NULL, NULL), -E2BIG);
	CU_ASSERT_EQUAL(ls_count(c, "/big", name, sizeof(name)), 300);
	for (int round = 0; round < 10; round++) {
		int n = snprintf(req, sizeof(req), "/big%c%zu", '\0', offset);
		char *p;

		CU_ASSERT_FATAL(xs_client_request(c, XS_DIRECTORY_PART, 0, req, (size_t)n + 1,
						  &reply, &len) == 0);
		p = reply + strlen(reply) + 1; /* skip the generation */
		while (p < reply + len && *p) {
			CU_ASSERT_EQUAL(strncmp(p, "child-with", 10), 0);
			offset += strlen(p) + 1;
			p += strlen(p) + 1;
			children++;
		}
		total = (size_t)(p - reply);
		free(reply);
		if (total < len) /* the final empty string: complete */
			break;
	}
	CU_ASSERT_EQUAL(children, 300);
	xs_client_close(c);
	fx_done(&f);
}

static void test_mkdir_existing_is_ok_and_keeps_value(void)
{
	SETUP(f, c);
	W(c, "/m", "keep");
	CU_ASSERT_EQUAL(xs_mkdir(c, 0, "/m"), 0);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/m"), "keep");
	CU_ASSERT_EQUAL(xs_mkdir(c, 0, "/m/n/o"), 0);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/m/n/o"), "");
	xs_client_close(c);
	fx_done(&f);
}

static void test_rm_removes_subtree(void)
{
	SETUP(f, c);
	W(c, "/r/a/b", "1");
	W(c, "/r/a/c", "2");
	W(c, "/r/z", "3");
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/r/a"), 0);
	CU_ASSERT_PTR_NULL(xs_get(c, "/r/a/b"));
	CU_ASSERT_PTR_NULL(xs_get(c, "/r/a"));
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/r/z"), "3");
	xs_client_close(c);
	fx_done(&f);
}

static void test_rm_missing_node_ok_missing_parent_enoent(void)
{
	SETUP(f, c);
	W(c, "/p", "");
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/p/none"), 0);
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/q/none"), -ENOENT);
	CU_ASSERT_EQUAL(xs_rm(c, 0, "/"), -EINVAL);
	xs_client_close(c);
	fx_done(&f);
}

static void test_get_set_perms_roundtrip(void)
{
	const char *perms[] = { "r3", "w4", "b5", "n6" };
	char *p;
	size_t len;

	SETUP(f, c);
	W(c, "/perm", "v");
	CU_ASSERT_EQUAL(xs_get_perms(c, 0, "/perm", &p, &len), 0);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_STRING_EQUAL(p, "n0");
	free(p);
	CU_ASSERT_EQUAL(xs_set_perms(c, 0, "/perm", perms, 4), 0);
	CU_ASSERT_EQUAL(xs_get_perms(c, 0, "/perm", &p, &len), 0);
	CU_ASSERT_EQUAL(len, 12);
	CU_ASSERT_EQUAL(memcmp(p, "r3\0w4\0b5\0n6\0", 12), 0);
	free(p);
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/perm"), "v");
	CU_ASSERT_EQUAL(xs_set_perms(c, 0, "/missing", perms, 1), -ENOENT);
	xs_client_close(c);
	fx_done(&f);
}

static void test_relative_path_resolves_under_domain_home(void)
{
	struct xs_client *g;

	SETUP(f, c);
	fx_make_home(c, 5);
	g = fx_guest(&f, 5);
	CU_ASSERT_FATAL(g != NULL);
	W(g, "device/vbd/0/state", "1");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/local/domain/5/device/vbd/0/state"), "1");
	CU_ASSERT_STRING_EQUAL(xs_get(g, "device/vbd/0/state"), "1");
	W(c, "relative0", "d0");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/local/domain/0/relative0"), "d0");
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_get_domain_path_and_is_introduced(void)
{
	char *r;

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_GET_DOMAIN_PATH, 0, "7", 2, &r, NULL), 0);
	CU_ASSERT_STRING_EQUAL(r, "/local/domain/7");
	free(r);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_GET_DOMAIN_PATH, 0, "x7", 3, &r, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_IS_DOMAIN_INTRODUCED, 0, "7", 2, &r, NULL), 0);
	CU_ASSERT_STRING_EQUAL(r, "F");
	free(r);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_IS_DOMAIN_INTRODUCED, 0, "0", 2, &r, NULL), 0);
	CU_ASSERT_STRING_EQUAL(r, "T");
	free(r);
	xs_client_close(c);
	fx_done(&f);
}

static void test_introduce_fires_introduce_watch(void)
{
	struct evlog ev = { 0 };
	char *r;

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_watch(c, "@introduceDomain", "tok", evlog_cb, &ev), 0);
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 1); /* registration */
	CU_ASSERT_EQUAL(xs_client_request(c, XS_INTRODUCE, 0, "3\0" "1234\0" "5", 9, NULL, NULL), 0);
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 2);
	CU_ASSERT_STRING_EQUAL(ev.path[1], "@introduceDomain");
	CU_ASSERT_EQUAL(xs_client_request(c, XS_IS_DOMAIN_INTRODUCED, 0, "3", 2, &r, NULL), 0);
	CU_ASSERT_STRING_EQUAL(r, "T");
	free(r);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_RESUME, 0, "3", 2, NULL, NULL), 0);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_RESUME, 0, "4", 2, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_INTRODUCE, 0, "3\0zz\0" "5", 7, NULL, NULL), -EINVAL);
	xs_client_close(c);
	fx_done(&f);
}

static void test_release_removes_domain_nodes_watches_and_fires(void)
{
	struct evlog ev = { 0 }, gev = { 0 };
	struct xs_client *g;

	SETUP(f, c);
	fx_make_home(c, 4);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_INTRODUCE, 0, "4\0" "1\0" "1", 6, NULL, NULL), 0);
	g = fx_guest(&f, 4);
	CU_ASSERT_FATAL(g != NULL);
	W(g, "data", "x");
	CU_ASSERT_EQUAL(xs_watch(g, "data", "g", evlog_cb, &gev), 0);
	CU_ASSERT_EQUAL(xs_watch(c, "@releaseDomain", "rel", evlog_cb, &ev), 0);
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_RELEASE, 0, "4", 2, NULL, NULL), 0);
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 2);
	CU_ASSERT_STRING_EQUAL(ev.path[1], "@releaseDomain");
	CU_ASSERT_PTR_NULL(xs_get(c, "/local/domain/4"));
	CU_ASSERT_PTR_NULL(xs_get(c, "/local/domain/4/data"));
	/* The guest's watch went with the release: unwatching it fails. */
	CU_ASSERT_EQUAL(xs_client_request(g, XS_UNWATCH, 0, "data\0g", 7, NULL, NULL), -ENOENT);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_RELEASE, 0, "4", 2, NULL, NULL), -ENOENT);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_set_target_grants_access_to_target_nodes(void)
{
	struct xs_client *stub;

	SETUP(f, c);
	fx_make_home(c, 8);
	W(c, "/local/domain/8/secret", "s");
	CU_ASSERT_EQUAL(xs_set_perms(c, 0, "/local/domain/8/secret", (const char *[]){ "n8" }, 1), 0);
	stub = fx_guest(&f, 9);
	CU_ASSERT_FATAL(stub != NULL);
	CU_ASSERT_PTR_NULL(xs_get(stub, "/local/domain/8/secret"));
	CU_ASSERT_EQUAL(xs_client_request(c, XS_SET_TARGET, 0, "9\0" "8", 4, NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(xs_get(stub, "/local/domain/8/secret"), "s");
	W(stub, "/local/domain/8/secret", "t");
	CU_ASSERT_EQUAL(xs_client_request(stub, XS_SET_TARGET, 0, "9\0" "1", 4, NULL, NULL), -EACCES);
	xs_client_close(stub);
	xs_client_close(c);
	fx_done(&f);
}

static void test_reset_watches_drops_all_watches(void)
{
	struct evlog ev = { 0 };

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_watch(c, "/w", "t1", evlog_cb, &ev), 0);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_RESET_WATCHES, 0, "", 0, NULL, NULL), 0);
	evlog_drain(c, 30);
	ev.n = 0;
	W(c, "/w", "1");
	evlog_drain(c, 50);
	CU_ASSERT_EQUAL(ev.n, 0);
	xs_client_close(c);
	fx_done(&f);
}

static void test_control_is_privileged(void)
{
	struct xs_client *g;
	char *r;

	SETUP(f, c);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_CONTROL, 0, "check", 6, NULL, NULL), 0);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_CONTROL, 0, "quota", 6, &r, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "nodes-per-domain 1000"));
	free(r);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_CONTROL, 0, "bogus", 6, NULL, NULL), -EINVAL);
	g = fx_guest(&f, 2);
	CU_ASSERT_EQUAL(xs_client_request(g, XS_CONTROL, 0, "check", 6, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(xs_client_request(g, XS_INTRODUCE, 0, "3\0" "1\0" "1", 6, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(xs_client_request(g, XS_RELEASE, 0, "3", 2, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(xs_client_request(g, XS_RESUME, 0, "3", 2, NULL, NULL), -EACCES);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_handover_makes_connection_unprivileged(void)
{
	struct xs_client *g;

	SETUP(f, c);
	W(c, "/private", "p");
	g = fx_guest(&f, 3);
	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_PTR_NULL(xs_get(g, "/private"));
	CU_ASSERT_EQUAL(xs_client_request(g, XS_PVKVM_HANDOVER, 0, "0", 2, NULL, NULL), -EACCES);
	CU_ASSERT_EQUAL(xs_client_request(c, XS_PVKVM_HANDOVER, 0, "0", 2, NULL, NULL), -EINVAL);
	xs_client_close(g);
	xs_client_close(c);
	fx_done(&f);
}

static void test_two_daemons_in_one_process_are_independent(void)
{
	struct fx f2;
	struct xs_client *c2;

	SETUP(f, c);
	CU_ASSERT_FATAL(fx_start(&f2, NULL) == 0);
	c2 = fx_client(&f2);
	W(c, "/who", "one");
	W(c2, "/who", "two");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/who"), "one");
	CU_ASSERT_STRING_EQUAL(xs_get(c2, "/who"), "two");
	xs_client_close(c2);
	fx_done(&f2);
	xs_client_close(c);
	fx_done(&f);
}

/* The embedding path: the VMM hands the daemon one end of a socketpair
 * for a guest, from another thread. */
static void test_add_conn_serves_socketpair_as_guest(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int sv[2];

	SETUP(f, c);
	W(c, "/private", "p");
	fx_make_home(c, 12);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_EQUAL(xs_daemon_add_conn(f.d, sv[1], 12), 0);
	CU_ASSERT_EQUAL(raw_call(sv[0], XS_WRITE, "mine\0v", 7, buf), XS_WRITE);
	CU_ASSERT_EQUAL(raw_call(sv[0], XS_READ, "/private", 9, buf), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EACCES");
	CU_ASSERT_STRING_EQUAL(xs_get(c, "/local/domain/12/mine"), "v");
	CU_ASSERT_EQUAL(xs_daemon_add_conn(f.d, -1, 12), -EINVAL);
	close(sv[0]);
	xs_client_close(c);
	fx_done(&f);
}

static const struct cunit_test xs_ops_tests[] = {
	CUNIT_TEST(test_write_then_read_returns_value),
	CUNIT_TEST(test_write_creates_missing_parents_empty),
	CUNIT_TEST(test_read_missing_is_enoent),
	CUNIT_TEST(test_directory_lists_children_in_creation_order),
	CUNIT_TEST(test_directory_part_pages_large_directory),
	CUNIT_TEST(test_mkdir_existing_is_ok_and_keeps_value),
	CUNIT_TEST(test_rm_removes_subtree),
	CUNIT_TEST(test_rm_missing_node_ok_missing_parent_enoent),
	CUNIT_TEST(test_get_set_perms_roundtrip),
	CUNIT_TEST(test_relative_path_resolves_under_domain_home),
	CUNIT_TEST(test_get_domain_path_and_is_introduced),
	CUNIT_TEST(test_introduce_fires_introduce_watch),
	CUNIT_TEST(test_release_removes_domain_nodes_watches_and_fires),
	CUNIT_TEST(test_set_target_grants_access_to_target_nodes),
	CUNIT_TEST(test_reset_watches_drops_all_watches),
	CUNIT_TEST(test_control_is_privileged),
	CUNIT_TEST(test_handover_makes_connection_unprivileged),
	CUNIT_TEST(test_two_daemons_in_one_process_are_independent),
	CUNIT_TEST(test_add_conn_serves_socketpair_as_guest),
};

void test_xs_register_ops(void)
{
	CUNIT_SUITE("xs_ops", NULL, NULL, xs_ops_tests);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	test_xs_register_ops();
	test_xs_register_perms();
	test_xs_register_txn();
	test_xs_register_bad();
	return cunit_run_all();
}
