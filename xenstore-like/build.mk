# xenstore-like/: pvkvm-stored (daemon library + binary), the client library
# and the `pvkvm store` subcommand.
XS_DAEMON_SRCS := xs_tree xs_store xs_txn xs_watch xs_ops xs_conn xs_daemon xs_persist
XS_CLIENT_SRCS := xs_client

$(B)/lib/libpvstored.a: $(patsubst %,$(B)/obj/xenstore-like/%.o,$(XS_DAEMON_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(B)/lib/libpvstore.a: $(patsubst %,$(B)/obj/xenstore-like/%.o,$(XS_CLIENT_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

PVKVM_LIBS += $(B)/lib/libpvstore.a $(B)/lib/libpvstored.a
PVKVM_OBJS += $(B)/obj/xenstore-like/cmd_store.o
$(B)/obj/xenstore-like/%.o: CPPFLAGS_PV += -Ixenstore-like

$(B)/bin/pvkvm-stored: $(B)/obj/xenstore-like/stored_main.o $(B)/lib/libpvstored.a $(B)/lib/libpvutil.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_PV) -o $@ $^
PROGS += $(B)/bin/pvkvm-stored
