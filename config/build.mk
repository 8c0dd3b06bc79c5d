# config/: domain XML parser library (libpvcfg), RelaxNG schema, `pvkvm validate`.
CFG_SRCS := config/cfg_parse.c config/cfg_explain.c config/cfg_tree.c config/cfg_check.c config/cfg_image.c \
            config/cfg_write.c config/cfg_util.c
CFG_OBJS := $(CFG_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/config/cfg_schema_gen.o
XML2_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
XML2_LIBS := $(shell pkg-config --libs libxml-2.0 2>/dev/null || echo -lxml2)

$(B)/obj/config/%.o: CPPFLAGS_PV += -Iconfig $(XML2_CFLAGS)

# The schema is compiled into the binary (no install path to look for): a
# byte array generated from config/domain.rng with od(1), NUL-terminated.
$(B)/gen/config/cfg_schema.c: config/domain.rng config/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from config/domain.rng by config/build.mk; do not edit. */'; \
	   echo '#include "cfg_domain.h"'; \
	   echo 'const unsigned char cfg_schema_rng[] = {'; \
	   od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00 };'; \
	   echo "const unsigned int cfg_schema_rng_len = $$(wc -c < $<);"; } > $@.tmp && mv $@.tmp $@

$(B)/obj/config/cfg_schema_gen.o: $(B)/gen/config/cfg_schema.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_PV) $(CFLAGS_PV) -c -o $@ $<

$(B)/lib/libpvcfg.a: $(CFG_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

PVKVM_LIBS += $(B)/lib/libpvcfg.a
PVKVM_OBJS += $(B)/obj/config/cmd_validate.o $(B)/obj/hv/cmd_check.o
LDLIBS_PV += $(XML2_LIBS) -luring
APT_DEPS += libxml2-dev libxml2-utils liburing-dev libclang-rt-14-dev

# Unit tests: run from the top of the tree (examples are read from config/examples).
$(B)/obj/tests/unit/test_config.o $(B)/obj/tests/unit/test_config_invalid.o: CPPFLAGS_PV += -Iconfig $(XML2_CFLAGS)
$(B)/tests/test_config: $(B)/obj/tests/unit/test_config.o $(B)/obj/tests/unit/test_config_invalid.o \
                        $(B)/lib/libpvcfg.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^ $(XML2_LIBS) $(CUNIT_LDLIBS)
UNIT_TESTS += $(B)/tests/test_config
CHECK_SCRIPTS += tests/integration/config_cli.sh

# libFuzzer target: clang builds the library sources itself, instrumented.
FUZZ_SECONDS ?= 300
FUZZ_CC ?= clang
$(B)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(CFG_SRCS) $(B)/gen/config/cfg_schema.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined $(CPPFLAGS_PV) -Iconfig \
		$(XML2_CFLAGS) -o $@ $^ $(XML2_LIBS)

.PHONY: fuzz-config
fuzz-config: $(B)/fuzz/fuzz_config
	@mkdir -p $(B)/fuzz/corpus-config
	@cp config/examples/*.xml $(B)/fuzz/corpus-config/
	$(B)/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
		-dict=tests/fuzz/fuzz_config.dict -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-config
FUZZ_TARGETS += fuzz-config
