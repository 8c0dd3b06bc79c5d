# frontend-guest/core/: the portable frontend core.  Environments compile the
# sources themselves (the mini-guest with its freestanding flags); the host
# build makes a library for the harness and unit tests.
FRONT_CORE_SRCS := $(addprefix frontend-guest/core/,pvfront.c pvfront_xs.c pvfront_bus.c blkfront.c blkfront_bus.c)
$(B)/obj/frontend-guest/core/%.o: CFLAGS_PV += -ffreestanding
$(B)/lib/libpvfront.a: $(patsubst %.c,$(B)/obj/%.o,$(FRONT_CORE_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
EXTRA_ALL += $(B)/lib/libpvfront.a
