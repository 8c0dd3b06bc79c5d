# hv/pv/: the PV platform, VMM side (hypercalls, event channels, grant-frame
# registry, control socket).  gmem.o and ctl_msg.o are shared with the backend
# library and live in libpvback.a.
PV_PLAT_OBJS := $(addprefix $(B)/obj/hv/pv/,evtchn.o hypercall.o plat.o ctl.o store_proxy.o platform_dev.o store_dom.o)
$(B)/obj/hv/pv/%.o: CPPFLAGS_PV += -Ihv/pv -Ifrontend-guest/core -Ixenstore-like
$(B)/lib/libpvplat.a: $(PV_PLAT_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
PVKVM_LIBS += $(B)/lib/libpvplat.a
# The VMM glue registers an HV_DEVICE, so it is linked directly.
PVKVM_OBJS += $(B)/obj/hv/pv/vm_pv.o
