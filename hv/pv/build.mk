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

# libFuzzer target: a hostile guest against hypercalls, registers and evtchn.
FUZZ_SECONDS ?= 300
FUZZ_CC ?= clang
PV_FUZZ_SRCS := $(addprefix hv/pv/,gmem.c evtchn.c hypercall.c plat.c platform_dev.c) ring/util/pv_log.c
$(B)/fuzz/fuzz_pv_hcall: tests/fuzz/fuzz_pv_hcall.c $(PV_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined $(CPPFLAGS_PV) -Ihv/pv \
		-o $@ $^ -pthread
.PHONY: fuzz-pv-hcall
fuzz-pv-hcall: $(B)/fuzz/fuzz_pv_hcall
	@mkdir -p $(B)/fuzz/corpus-pv-hcall
	$(B)/fuzz/fuzz_pv_hcall -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-pv-hcall
FUZZ_TARGETS += fuzz-pv-hcall

# Domain ids, the embedded/daemon store and the VMM's store ring page, in the mini-guest.
CHECK_SCRIPTS += tests/integration/pv_domains.sh
