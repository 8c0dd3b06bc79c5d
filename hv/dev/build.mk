# hv/dev/: small device models (i8042, the pvkvm test device), and the
# firmware tables hv/acpi.c and hv/mptable.c that live beside the VMM core.
HV_DEV_OBJS := $(B)/obj/hv/dev/i8042.o $(B)/obj/hv/dev/testdev.o
HV_TABLE_OBJS := $(B)/obj/hv/acpi.o $(B)/obj/hv/mptable.o
PVKVM_OBJS += $(HV_TABLE_OBJS) $(HV_DEV_OBJS) $(B)/obj/hv/dev/vm_glue.o
APT_DEPS += acpica-tools

$(B)/obj/tests/unit/test_acpi.o: CPPFLAGS_PV += -Ihv
$(B)/tests/test_acpi: $(B)/obj/tests/unit/test_acpi.o $(HV_TABLE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS)
UNIT_TESTS += $(B)/tests/test_acpi
CHECK_SCRIPTS += tests/integration/hv_acpi_iasl.sh
