# ring/: the guest ABI headers, ring code and small shared userspace helpers.
$(B)/lib/libpvutil.a: $(B)/obj/ring/util/pv_log.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
PVKVM_LIBS += $(B)/lib/libpvutil.a
