# hv/: the VMM and the pvkvm command.
PVKVM_OBJS += $(B)/obj/hv/main.o
