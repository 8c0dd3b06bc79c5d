# frontend-guest/core/: the portable frontend core.  Environments compile the
# sources themselves (the mini-guest with its freestanding flags); the host
# build makes a library for the harness and unit tests.
FRONT_CORE_SRCS := $(addprefix frontend-guest/core/,pvfront.c pvfront_xs.c pvfront_bus.c tests/pvtest_front.c \
	netfront.c blkfront.c blkfront_bus.c)
$(B)/obj/frontend-guest/core/tests/%.o: CPPFLAGS_PV += -Ifrontend-guest/core
$(B)/obj/frontend-guest/core/%.o: CFLAGS_PV += -ffreestanding
$(B)/lib/libpvfront.a: $(patsubst %.c,$(B)/obj/%.o,$(FRONT_CORE_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
EXTRA_ALL += $(B)/lib/libpvfront.a

# The mini-guest build of the core and its PV programs (frontend-guest/core/mini/),
# compiled with the mini-guest's flags.  frontend-guest/mini/build.mk sets
# MINI_OBJS with := after this file is read, so tests/harness/build.mk (read
# later) appends PV_MINI_OBJS to it.
PV_MINI_SRCS := $(FRONT_CORE_SRCS) frontend-guest/core/mini/pv_mini.c
PV_MINI_OBJS = $(patsubst %.c,$(B)/guest/obj/%.o,$(PV_MINI_SRCS))
$(B)/guest/obj/frontend-guest/core/%.o: frontend-guest/core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(MINI_CPPFLAGS) -Ifrontend-guest/core -Ifrontend-guest/core/tests $(MINI_CFLAGS) -c -o $@ $<
