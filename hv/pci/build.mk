# hv/pci/: PCI host bridge, device framework, MSI-X and KVM GSI routing.
HV_PCI_OBJS := $(B)/obj/hv/pci/pci.o $(B)/obj/hv/pci/msix.o $(B)/obj/hv/pci/msi_route.o
# The iobus implementation belongs to the VMM core (hv/iobus.c): until it is
# there, pvkvm links without the devices and test_pci carries a local copy
# (behind HAVE_HV_IOBUS).
HV_IOBUS_OBJ := $(if $(wildcard hv/iobus.c),$(B)/obj/hv/iobus.o)
PVKVM_OBJS += $(if $(HV_IOBUS_OBJ),$(HV_PCI_OBJS))
$(B)/obj/tests/unit/test_pci.o: CPPFLAGS_PV += -Ihv $(if $(HV_IOBUS_OBJ),-DHAVE_HV_IOBUS)
$(B)/tests/test_pci: $(B)/obj/tests/unit/test_pci.o $(HV_PCI_OBJS) $(HV_DEV_OBJS) \
		$(HV_IOBUS_OBJ) $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS)
UNIT_TESTS += $(B)/tests/test_pci
