# backend/blkback/: request handling, the pvkvm-blkback daemon, the store handshake.
BLKBACK_OBJS := $(addprefix $(B)/obj/backend/blkback/,blkback_req.o blkback_queue.o blkback_dev.o blkback_bus.o blkback_serve.o)
BLKBACK_CPPFLAGS := -Ibackend/blkback -Ibackend/blk -Ibackend/lib -Ihv/pv -Ixenstore-like
$(B)/obj/backend/blkback/%.o: CPPFLAGS_PV += $(BLKBACK_CPPFLAGS)
$(B)/lib/libpvblkback.a: $(BLKBACK_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
PVKVM_LIBS += $(B)/lib/libpvblkback.a

BLKBACK_DEP_LIBS := $(B)/lib/libpvblkback.a $(B)/lib/libpvback.a $(B)/lib/libpvblk.a $(B)/lib/libpvplat.a \
	$(B)/lib/libpvstore.a $(B)/lib/libpvstored.a $(B)/lib/libpvutil.a
$(B)/bin/pvkvm-blkback: $(B)/obj/backend/blkback/blkbackd.o $(BLKBACK_DEP_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< -Wl,--start-group $(BLKBACK_DEP_LIBS) -Wl,--end-group $(BLK_LDLIBS)
PROGS += $(B)/bin/pvkvm-blkback

# Host-harness tests: a fake guest over a memfd against the real backend.
BLKBACK_TEST_NAMES := test_blkback test_blkback_bus
$(BLKBACK_TEST_NAMES:%=$(B)/obj/tests/unit/%.o): CPPFLAGS_PV += $(HARNESS_CPPFLAGS) $(BLKBACK_CPPFLAGS)
$(B)/obj/tests/unit/blkback_fake_guest.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS) $(BLKBACK_CPPFLAGS)
BLKBACK_TESTS := $(BLKBACK_TEST_NAMES:%=$(B)/tests/%)
# (tests/harness/build.mk is read after this file: name its outputs here.)
BLKBACK_HARNESS_DEPS := $(addprefix $(B)/obj/tests/harness/,harness.o kvm_guest.o pvtest_back.o) \
	$(B)/lib/libpvplat.a $(B)/lib/libpvfront.a
$(BLKBACK_TESTS): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/obj/tests/unit/blkback_fake_guest.o \
		$(BLKBACK_HARNESS_DEPS) $(BLKBACK_DEP_LIBS) | $(B)/bin/pvkvm $(B)/bin/pvkvm-blkback
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(B)/obj/tests/unit/blkback_fake_guest.o $(HARNESS_OBJS) \
		-Wl,--start-group $(HARNESS_LIBS) $(BLKBACK_DEP_LIBS) -Wl,--end-group \
		$(CUNIT_LDLIBS) $(BLK_LDLIBS)
UNIT_TESTS += $(BLKBACK_TESTS)

# make bench-blk: pvblk (harness guest, no VM) vs QEMU virtio-blk (mini-guest) vs fio on the host.
$(B)/obj/tests/bench/bench_blk.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS) $(BLKBACK_CPPFLAGS) -Itests/unit
$(B)/tests/bench_blk: $(B)/obj/tests/bench/bench_blk.o $(B)/obj/tests/unit/blkback_fake_guest.o \
		$(BLKBACK_HARNESS_DEPS) $(BLKBACK_DEP_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(B)/obj/tests/unit/blkback_fake_guest.o $(HARNESS_OBJS) \
		-Wl,--start-group $(HARNESS_LIBS) $(BLKBACK_DEP_LIBS) -Wl,--end-group $(BLK_LDLIBS)
EXTRA_ALL += $(B)/tests/bench_blk
bench-blk: $(B)/tests/bench_blk $(B)/bin/pvkvm
	@B=$(B) bash tests/bench/bench_blk.sh
BENCH_TARGETS += bench-blk
.PHONY: bench-blk
PVKVM_OBJS += $(B)/obj/backend/blkback/cmd_blkstat.o
CHECK_SCRIPTS += tests/integration/blk_pv_daemon.sh
# The mini-guest's pvblk driver uses the core's blkfront and pv_mini's platform.
$(B)/guest/obj/frontend-guest/mini/drivers/pvblk.o: MINI_CPPFLAGS += -Ifrontend-guest/core -Ifrontend-guest/core/mini
CHECK_SCRIPTS += tests/integration/blk_pv_guest.sh
# `pvkvm run --disk`: the embedded backend threads (hv/cmd_run.c calls blkback_run.h).
PVKVM_OBJS += $(B)/obj/backend/blkback/run_disks.o
$(B)/obj/hv/cmd_run.o $(B)/obj/hv/run_config.o: CPPFLAGS_PV += -Ibackend/blkback
# `pvkvm attach-disk` / `detach-disk` (hot-plug; the run directory's helpers).
PVKVM_OBJS += $(B)/obj/backend/blkback/cmd_disk.o
$(B)/obj/backend/blkback/cmd_disk.o: CPPFLAGS_PV += -Ihv
CHECK_SCRIPTS += tests/integration/blk_hotplug.sh
