# backend/blk/: the block storage layer (engines + raw/qcow2 images) and `pvkvm img`.
BLK_LIB_SRCS := $(filter-out backend/blk/cmd_%.c,$(wildcard backend/blk/*.c))
BLK_LIB_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(BLK_LIB_SRCS))
BLK_LDLIBS := -luring -laio -lz

$(B)/obj/backend/blk/%.o: CPPFLAGS_PV += -Ibackend/blk
$(B)/lib/libpvblk.a: $(BLK_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

PVKVM_LIBS += $(B)/lib/libpvblk.a
PVKVM_OBJS += $(B)/obj/backend/blk/cmd_img.o $(B)/obj/backend/blk/cmd_img_io.o
LDLIBS_PV += $(BLK_LDLIBS)
APT_DEPS += liburing-dev libaio-dev zlib1g-dev qemu-utils fio

# Unit tests.
$(B)/obj/tests/unit/test_blk.o $(B)/obj/tests/unit/test_qcow2.o $(B)/obj/tests/unit/test_blk_crashload.o: CPPFLAGS_PV += -Ibackend/blk
$(B)/tests/test_blk: $(B)/obj/tests/unit/test_blk.o $(B)/lib/libpvblk.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS) $(BLK_LDLIBS)
$(B)/tests/test_qcow2: $(B)/obj/tests/unit/test_qcow2.o $(B)/lib/libpvblk.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(CUNIT_LDLIBS) $(BLK_LDLIBS)
UNIT_TESTS += $(B)/tests/test_blk $(B)/tests/test_qcow2
$(B)/tests/blk_crashload: $(B)/obj/tests/unit/test_blk_crashload.o $(B)/lib/libpvblk.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(BLK_LDLIBS)
EXTRA_ALL += $(B)/tests/blk_crashload
CHECK_SCRIPTS += tests/integration/blk_img.sh tests/integration/qcow2_interop.sh tests/integration/qcow2_crash.sh

# Fuzzing (clang + libFuzzer, ASan/UBSan): make fuzz-qcow2 [FUZZ_SECONDS=300]
FUZZ_SECONDS ?= 300
$(B)/fuzz/fuzz_qcow2: tests/fuzz/fuzz_qcow2.c $(BLK_LIB_SRCS) ring/util/pv_log.c
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS_PV) -Ibackend/blk -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $^ $(BLK_LDLIBS) -pthread
fuzz-qcow2: $(B)/fuzz/fuzz_qcow2 $(B)/bin/pvkvm
	@bash tests/fuzz/fuzz_qcow2_seeds.sh $(B)/fuzz/corpus-qcow2 $(B)/bin/pvkvm
	@mkdir -p $(B)/fuzz/tmp
	TMPDIR=$(abspath $(B)/fuzz/tmp) $< -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 $(B)/fuzz/corpus-qcow2
FUZZ_TARGETS += fuzz-qcow2
.PHONY: fuzz-qcow2

# Host-side benchmark of the engines and images (vs fio): make bench-engine
$(B)/obj/tests/bench/bench_engine.o: CPPFLAGS_PV += -Ibackend/blk
$(B)/tests/bench_engine: $(B)/obj/tests/bench/bench_engine.o $(B)/lib/libpvblk.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(BLK_LDLIBS)
EXTRA_ALL += $(B)/tests/bench_engine
bench-engine: $(B)/tests/bench_engine $(B)/bin/pvkvm
	@B=$(B) bash tests/bench/bench_engine.sh
BENCH_TARGETS += bench-engine
.PHONY: bench-engine

# qcow2 vs raw vs QEMU's qcow2 (mini-guest on virtio-blk): make bench-qcow2
bench-qcow2: $(B)/tests/bench_engine $(B)/bin/pvkvm
	@B=$(B) bash tests/bench/bench_qcow2.sh
BENCH_TARGETS += bench-qcow2
.PHONY: bench-qcow2
