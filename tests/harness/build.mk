# tests/harness/: the no-VM guest harness, and the PV platform unit tests built on it.
HARNESS_CPPFLAGS := -Ihv/pv -Ibackend/lib -Ifrontend-guest/core -Ifrontend-guest/core/tests \
	-Itests/harness -Ixenstore-like
HARNESS_LIBS := $(B)/lib/libpvplat.a $(B)/lib/libpvback.a $(B)/lib/libpvfront.a \
	$(B)/lib/libpvstore.a $(B)/lib/libpvstored.a $(B)/lib/libpvutil.a
$(B)/obj/tests/harness/%.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS)
PLAT_TEST_NAMES := test_grant test_evtchn test_ctl test_front_store test_front_xsd test_hcall_kvm
$(PLAT_TEST_NAMES:%=$(B)/obj/tests/unit/%.o): CPPFLAGS_PV += $(HARNESS_CPPFLAGS)

PLAT_TESTS := $(PLAT_TEST_NAMES:%=$(B)/tests/%)
HARNESS_OBJS := $(addprefix $(B)/obj/tests/harness/,harness.o kvm_guest.o pvtest_back.o)
$(PLAT_TESTS): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(HARNESS_OBJS) $(HARNESS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(HARNESS_OBJS) \
		-Wl,--start-group $(HARNESS_LIBS) -Wl,--end-group $(CUNIT_LDLIBS)
UNIT_TESTS += $(PLAT_TESTS)

# bench-evtchn: the event-channel round trip on real KVM against its floor.
$(B)/obj/tests/bench/bench_evtchn.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS)
$(B)/bin/bench_evtchn: $(B)/obj/tests/bench/bench_evtchn.o $(B)/obj/tests/harness/kvm_guest.o $(HARNESS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(B)/obj/tests/harness/kvm_guest.o \
		-Wl,--start-group $(HARNESS_LIBS) -Wl,--end-group
EXTRA_ALL += $(B)/bin/bench_evtchn
BENCH_TARGETS += bench-evtchn
.PHONY: bench-evtchn
bench-evtchn: $(B)/bin/bench_evtchn $(B)/bin/pvkvm $(B)/bin/pvkvm-testback $(B)/guest/mini.elf
	@bash tests/bench/run_bench_evtchn.sh $(B)/bin/bench_evtchn $(B)

# The host test backend for the mini-guest's platform self-test.
$(B)/obj/tests/harness/pvtest_back_main.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS)
$(B)/bin/pvkvm-testback: $(B)/obj/tests/harness/pvtest_back_main.o $(B)/obj/tests/harness/pvtest_back.o $(HARNESS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(B)/obj/tests/harness/pvtest_back.o \
		-Wl,--start-group $(HARNESS_LIBS) -Wl,--end-group
PROGS += $(B)/bin/pvkvm-testback

# Link the core's PV programs into the mini-guest (see frontend-guest/core/build.mk).
MINI_OBJS += $(PV_MINI_OBJS)
$(MINI_ELF): $(PV_MINI_OBJS)
CHECK_SCRIPTS += tests/integration/pv_platform.sh
