# tests/harness/: the no-VM guest harness, and the PV platform unit tests built on it.
HARNESS_CPPFLAGS := -Ihv/pv -Ibackend/lib -Ifrontend-guest/core -Itests/harness
HARNESS_LIBS := $(B)/lib/libpvplat.a $(B)/lib/libpvback.a $(B)/lib/libpvfront.a $(B)/lib/libpvutil.a
$(B)/obj/tests/harness/%.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS)
$(B)/obj/tests/unit/test_grant.o $(B)/obj/tests/unit/test_evtchn.o \
$(B)/obj/tests/unit/test_ctl.o: CPPFLAGS_PV += $(HARNESS_CPPFLAGS)

PLAT_TESTS := $(B)/tests/test_grant $(B)/tests/test_evtchn $(B)/tests/test_ctl
$(PLAT_TESTS): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/obj/tests/harness/harness.o $(HARNESS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $< $(B)/obj/tests/harness/harness.o \
		-Wl,--start-group $(HARNESS_LIBS) -Wl,--end-group $(CUNIT_LDLIBS)
UNIT_TESTS += $(PLAT_TESTS)
