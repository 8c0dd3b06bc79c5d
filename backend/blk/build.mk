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
