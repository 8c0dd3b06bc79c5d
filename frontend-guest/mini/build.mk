# frontend-guest/mini/: the mini-guest, one freestanding PVH ELF ($(B)/guest/mini.elf)
# that pvkvm and QEMU -M microvm boot alike.  Built with its own flags (no
# sanitizers, no libc, no PIE) whatever CC and SANITIZE say.
MINI_DIR := frontend-guest/mini
MINI_ELF := $(B)/guest/mini.elf
MINI_SRCS := $(sort $(wildcard $(MINI_DIR)/*/*.c))
# drivers/pvnet.c needs the frontend core's netfront (frontend-guest/core/netfront.c).
ifeq ($(wildcard frontend-guest/core/netfront.c),)
MINI_SRCS := $(filter-out $(MINI_DIR)/drivers/pvnet.c,$(MINI_SRCS))
endif
MINI_OBJS := $(patsubst %.c,$(B)/guest/obj/%.o,$(MINI_SRCS)) $(B)/guest/obj/$(MINI_DIR)/arch/entry.o
MINI_CPPFLAGS := -I$(MINI_DIR)/include -Iring/include
MINI_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none \
	-fno-omit-frame-pointer $(WARN) -MMD -MP
MINI_LDFLAGS := -nostdlib -static -Wl,-T,$(MINI_DIR)/link.ld -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,max-page-size=4096

EXTRA_ALL += $(MINI_ELF)
APT_DEPS += qemu-system-x86
CHECK_SCRIPTS += tests/integration/mini_boot.sh tests/integration/mini_virtio_blk.sh tests/integration/mini_nvme.sh

$(B)/guest/obj/$(MINI_DIR)/%.o: $(MINI_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(MINI_CPPFLAGS) $(MINI_CFLAGS) -c -o $@ $<

$(B)/guest/obj/$(MINI_DIR)/%.o: $(MINI_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(MINI_CPPFLAGS) -fno-pic -fno-pie -MMD -MP -c -o $@ $<

$(MINI_ELF): $(MINI_OBJS) $(MINI_DIR)/link.ld
	@mkdir -p $(dir $@)
	$(CC) $(MINI_LDFLAGS) -o $@ $(MINI_OBJS)

# make demo: install what is missing, build everything, boot the mini-guest on pvkvm.
demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) bash $(MINI_DIR)/demo.sh

# The host side of the network programs' UDP stream (mini/udp_stream.h).
PROGS += $(B)/bin/pvkvm-udptool
CHECK_SCRIPTS += tests/integration/mini_net_qemu.sh tests/integration/mini_net_pv.sh
APT_DEPS += iproute2 iputils-ping
$(B)/obj/tests/bench/udp_tool.o: CPPFLAGS_PV += -I$(MINI_DIR)/include
$(B)/bin/pvkvm-udptool: $(B)/obj/tests/bench/udp_tool.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^
# make bench-net-qemu: the QEMU virtio-net anchor of the network benchmark.
BENCH_TARGETS += bench-net-qemu
.PHONY: bench-net-qemu
bench-net-qemu: $(MINI_ELF) $(B)/bin/pvkvm-udptool
	@B=$(B) bash tests/bench/bench_net_qemu.sh $${BENCH_NET_SECONDS:-5} --append
# pvnet glue: the frontend core's netfront and the PV environment of core/mini/.
$(B)/guest/obj/$(MINI_DIR)/drivers/pvnet.o: MINI_CPPFLAGS += -Ifrontend-guest/core -Ifrontend-guest/core/mini
