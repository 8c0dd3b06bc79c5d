# hv/pci/: PCI host bridge, device framework, MSI-X and KVM GSI routing.
HV_PCI_OBJS := $(B)/obj/hv/pci/pci.o $(B)/obj/hv/pci/msix.o $(B)/obj/hv/pci/msi_route.o
PVKVM_OBJS += $(HV_PCI_OBJS) $(B)/obj/hv/pci/vm_pci.o

$(B)/obj/tests/unit/test_pci.o $(B)/obj/tests/unit/test_pci_kvm.o: CPPFLAGS_PV += -Ihv
# Linked with the VMM core for the test whose guest code drives the bridge.
$(B)/tests/test_pci: $(B)/obj/tests/unit/test_pci.o $(B)/obj/tests/unit/test_pci_kvm.o $(HV_PCI_OBJS) $(HV_DEV_OBJS) \
		$(HV_CORE_OBJS) $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS) -llz4
UNIT_TESTS += $(B)/tests/test_pci
