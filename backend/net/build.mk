# backend/net/: the net backend (TAP), pvkvm-netback, its tests and benchmark.
NET_LIB_OBJS := $(addprefix $(B)/obj/backend/net/,tap.o csum.o vif.o vif_tx.o vif_rx.o netback_bus.o netback_service.o net_run.o)
NET_CPPFLAGS := -Ibackend/net -Ibackend/lib -Ihv/pv -Ixenstore-like -Ifrontend-guest/core
$(B)/obj/backend/net/%.o: CPPFLAGS_PV += $(NET_CPPFLAGS)
$(B)/lib/libpvnet.a: $(NET_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
PVKVM_LIBS += $(B)/lib/libpvnet.a
APT_DEPS += iproute2 iputils-ping

# Unit tests on the no-VM harness, with a TAP inside a private network namespace.
NET_TEST_NAMES := test_netback test_netback_bus
NET_TEST_UTIL := $(B)/obj/tests/unit/test_netback_util.o
# tests/harness/build.mk is read after this file: name its outputs here.
NET_HARNESS_DEPS := $(B)/obj/tests/harness/harness.o $(B)/obj/tests/harness/kvm_guest.o \
	$(addprefix $(B)/lib/,libpvnet.a libpvplat.a libpvback.a libpvfront.a libpvstore.a libpvstored.a libpvutil.a)
$(NET_TEST_UTIL): CPPFLAGS_PV += $(HARNESS_CPPFLAGS) -Ibackend/net -Ifrontend-guest/core
$(NET_TEST_NAMES:%=$(B)/obj/tests/unit/%.o): CPPFLAGS_PV += $(HARNESS_CPPFLAGS) -Ibackend/net -Ifrontend-guest/core
$(NET_TEST_NAMES:%=$(B)/tests/%): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(NET_TEST_UTIL) $(NET_HARNESS_DEPS) $(B)/bin/pvkvm-netback
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(NET_TEST_UTIL) $(filter %.o,$(NET_HARNESS_DEPS)) \
		-Wl,--start-group $(filter %.a,$(NET_HARNESS_DEPS)) -Wl,--end-group $(CUNIT_LDLIBS)
UNIT_TESTS += $(NET_TEST_NAMES:%=$(B)/tests/%)

# The daemon.
$(B)/bin/pvkvm-netback: $(B)/obj/backend/net/netback_main.o $(NET_HARNESS_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< -Wl,--start-group $(filter %.a,$(NET_HARNESS_DEPS)) -Wl,--end-group
PROGS += $(B)/bin/pvkvm-netback

# make bench-net: the host-harness path (fake guest -> netback -> TAP) against a
# plain TAP writer, in a network namespace of its own.
$(B)/obj/tests/bench/bench_net.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS) -Ibackend/net -Ifrontend-guest/core -Itests/unit
$(B)/bin/bench_net: $(B)/obj/tests/bench/bench_net.o $(NET_TEST_UTIL) $(NET_HARNESS_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(NET_TEST_UTIL) $(filter %.o,$(NET_HARNESS_DEPS)) \
		-Wl,--start-group $(filter %.a,$(NET_HARNESS_DEPS)) -Wl,--end-group
EXTRA_ALL += $(B)/bin/bench_net
BENCH_TARGETS += bench-net
.PHONY: bench-net
bench-net: $(B)/bin/bench_net
	@bash tests/bench/bench_net.sh $(B)/bin/bench_net
$(B)/obj/hv/cmd_run.o: CPPFLAGS_PV += $(NET_CPPFLAGS)
CHECK_SCRIPTS += tests/integration/net_run.sh
# pvkvm attach-interface / detach-interface (registered with PV_COMMAND: linked directly).
PVKVM_OBJS += $(B)/obj/backend/net/cmd_iface.o
$(B)/obj/backend/net/cmd_iface.o: CPPFLAGS_PV += -Ihv

# make fuzz-net-tx [FUZZ_SECONDS=300]: hostile TX chains and packet heads.
$(B)/fuzz/fuzz_net_tx: tests/fuzz/fuzz_net_tx.c backend/net/vif_tx.c backend/net/csum.c backend/net/vif.c \
		backend/net/vif_rx.c backend/net/tap.c
	@mkdir -p $(dir $@)
	clang -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$(CPPFLAGS_PV) $(NET_CPPFLAGS) -o $@ $^ ring/util/pv_log.c $(filter %.a,$(NET_HARNESS_DEPS)) -pthread
.PHONY: fuzz-net-tx
fuzz-net-tx: $(B)/fuzz/fuzz_net_tx
	@mkdir -p $(B)/fuzz/corpus-net-tx
	$(B)/fuzz/fuzz_net_tx -max_total_time=$(FUZZ_SECONDS) -max_len=512 -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-net-tx
FUZZ_TARGETS += fuzz-net-tx
CHECK_SCRIPTS += tests/integration/net_pv_guest.sh
