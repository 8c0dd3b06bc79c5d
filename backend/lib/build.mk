# backend/lib/: the backend library (attach, grants, event channels).
PVBACK_OBJS := $(addprefix $(B)/obj/backend/lib/,attach.o grant.o evtchn.o bus.o) \
	$(B)/obj/hv/pv/gmem.o $(B)/obj/hv/pv/ctl_msg.o
$(B)/obj/backend/lib/%.o: CPPFLAGS_PV += -Ihv/pv -Ibackend/lib -Ixenstore-like
$(B)/lib/libpvback.a: $(PVBACK_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
PVKVM_LIBS += $(B)/lib/libpvback.a
