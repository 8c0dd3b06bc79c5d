# ring/: the guest ABI headers, ring code and small shared userspace helpers.
$(B)/lib/libpvutil.a: $(B)/obj/ring/util/pv_log.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
PVKVM_LIBS += $(B)/lib/libpvutil.a

# Ring unit tests: layout, wrap, suppression, hostile indexes, interleaving
# model and a two-thread stress run.
TEST_RING_OBJS := $(B)/obj/tests/unit/test_ring.o $(B)/obj/tests/unit/test_ring_concurrency.o
$(B)/tests/test_ring: $(TEST_RING_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS)
UNIT_TESTS += $(B)/tests/test_ring

# Header checks: every ABI header alone in C99/C11 with gcc and clang, and
# all of them in a trivial out-of-tree kernel module.
CHECK_SCRIPTS += tests/integration/abi_headers.sh
APT_DEPS += linux-headers-cloud-amd64

# Ring benchmark (not a test): floor, ping-pong, streaming, notifications.
$(B)/bin/bench_ring: $(B)/obj/tests/bench/bench_ring.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^
.PHONY: bench-ring
bench-ring: $(B)/bin/bench_ring
	@bash tests/bench/run_bench_ring.sh $(B)/bin/bench_ring
BENCH_TARGETS += bench-ring
