# xenstore-like/: pvkvm-stored (daemon library + binary), the client library
# and the `pvkvm store` subcommand.
XS_DAEMON_SRCS := xs_tree xs_store xs_txn xs_watch xs_ops xs_conn xs_daemon xs_persist
XS_CLIENT_SRCS := xs_client xs_runpath

$(B)/lib/libpvstored.a: $(patsubst %,$(B)/obj/xenstore-like/%.o,$(XS_DAEMON_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(B)/lib/libpvstore.a: $(patsubst %,$(B)/obj/xenstore-like/%.o,$(XS_CLIENT_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

PVKVM_LIBS += $(B)/lib/libpvstore.a $(B)/lib/libpvstored.a
PVKVM_OBJS += $(B)/obj/xenstore-like/cmd_store.o
$(B)/obj/xenstore-like/%.o: CPPFLAGS_PV += -Ixenstore-like

$(B)/bin/pvkvm-stored: $(B)/obj/xenstore-like/stored_main.o $(B)/lib/libpvstored.a $(B)/lib/libpvstore.a \
		$(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^
PROGS += $(B)/bin/pvkvm-stored

# Tests: one CUnit binary over the in-process daemon.
XS_TEST_SRCS := test_xs test_xs_util test_xs_perms test_xs_txn test_xs_bad
$(B)/obj/tests/unit/test_xs.o $(B)/obj/tests/unit/test_xs_%.o: CPPFLAGS_PV += -Ixenstore-like
$(B)/tests/test_xs: $(patsubst %,$(B)/obj/tests/unit/%.o,$(XS_TEST_SRCS)) $(B)/lib/libpvstore.a \
		$(B)/lib/libpvstored.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS)
UNIT_TESTS += $(B)/tests/test_xs
CHECK_SCRIPTS += tests/integration/xs_interop.sh tests/integration/xs_crash.sh
APT_DEPS += xenstore-utils

# Benchmark: pvkvm-stored next to Xen's oxenstored (tests/bench/bench_store.sh).
$(B)/obj/tests/bench/bench_store.o: CPPFLAGS_PV += -Ixenstore-like
$(B)/bench/bench_store: $(B)/obj/tests/bench/bench_store.o $(B)/lib/libpvstore.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^
.PHONY: bench-store
bench-store: $(B)/bench/bench_store $(B)/bin/pvkvm-stored
	@B=$(B) bash tests/bench/bench_store.sh
BENCH_TARGETS += bench-store
