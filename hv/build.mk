# hv/: the VMM and the pvkvm command.
HV_CORE_OBJS := $(addprefix $(B)/obj/hv/, iobus.o vm.o vcpu.o console.o serial.o debug_exit.o \
	device.o loader.o load_elf.o load_linux.o rundir.o vm_reaper.o)
PVKVM_OBJS += $(B)/obj/hv/main.o $(HV_CORE_OBJS) $(addprefix $(B)/obj/hv/, run_config.o cmd_run.o cmd_guests.o run_store.o)
LDLIBS_PV += -llz4
# libxml2 on first use (lazy_xml.c), not at every start: its definitions come
# first, and --as-needed drops -lxml2 (config/build.mk) unless something
# lazy_xml.c lacks still needs it.  Fragments are included in sorted order,
# so this sees config/'s libraries and prefixes them all.
PVKVM_OBJS += $(B)/obj/hv/lazy_xml.o
$(B)/obj/hv/lazy_xml.o: CPPFLAGS_PV += $(XML2_CFLAGS)
LDLIBS_PV := -Wl,--as-needed $(LDLIBS_PV)
# `pvkvm run DOMAIN.xml` reads the domain through config/ (libpvcfg).
$(B)/obj/hv/run_config.o: CPPFLAGS_PV += -Iconfig
# The embedded store is the store library (libpvstored) in a thread.
$(B)/obj/hv/run_store.o: CPPFLAGS_PV += -Ixenstore-like
APT_DEPS += liblz4-dev

# KVM-selftest style tests: tiny guests on the real /dev/kvm.
HV_TEST_OBJS := $(addprefix $(B)/obj/tests/unit/, test_hv.o test_hv_iobus.o test_hv_loader.o)
$(HV_TEST_OBJS): CPPFLAGS_PV += -Ihv -Itests/unit
$(B)/tests/test_hv: $(HV_TEST_OBJS) $(HV_CORE_OBJS) $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS) -llz4
UNIT_TESTS += $(B)/tests/test_hv

# The tiny PVH guest of the integration tests (tests/integration/hv_guest.S).
HV_TEST_GUEST := $(B)/tests/hv_guest.elf
$(HV_TEST_GUEST): tests/integration/hv_guest.S tests/integration/hv_guest.ld
	@mkdir -p $(dir $@) $(B)/obj/tests/integration
	$(CC) -m32 -c -o $(B)/obj/tests/integration/hv_guest.o $<
	ld -m elf_i386 --no-warn-rwx-segments -T tests/integration/hv_guest.ld -o $@ $(B)/obj/tests/integration/hv_guest.o
EXTRA_ALL += $(HV_TEST_GUEST)
CHECK_SCRIPTS += tests/integration/hv_run.sh tests/integration/hv_daemon.sh tests/integration/hv_linux.sh

# Full Linux boot needs hardware-assisted KVM; on PVM hosts it says SKIP.
.PHONY: check-linux-hv bench-boot
check-linux: check-linux-hv
check-linux-hv: $(B)/bin/pvkvm
	@B=$(B) bash tests/integration/hv_linux.sh --full

BENCH_TARGETS += bench-boot
bench-boot: $(B)/bin/pvkvm $(HV_TEST_GUEST)
	@B=$(B) bash tests/bench/bench_boot.sh
