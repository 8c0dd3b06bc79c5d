# hv/: the VMM and the pvkvm command.
HV_CORE_OBJS := $(addprefix $(B)/obj/hv/, iobus.o vm.o vcpu.o console.o serial.o debug_exit.o \
	device.o loader.o load_elf.o load_linux.o rundir.o)
PVKVM_OBJS += $(B)/obj/hv/main.o $(HV_CORE_OBJS) $(addprefix $(B)/obj/hv/, run_config.o cmd_run.o cmd_guests.o)
LDLIBS_PV += -llz4
APT_DEPS += liblz4-dev

# KVM-selftest style tests: tiny guests on the real /dev/kvm.
HV_TEST_OBJS := $(addprefix $(B)/obj/tests/unit/, test_hv.o test_hv_iobus.o test_hv_loader.o)
$(HV_TEST_OBJS): CPPFLAGS_PV += -Ihv -Itests/unit
$(B)/tests/test_hv: $(HV_TEST_OBJS) $(HV_CORE_OBJS) $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS) -llz4
UNIT_TESTS += $(B)/tests/test_hv
