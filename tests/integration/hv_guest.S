/* SPDX-License-Identifier: MIT */
/* A tiny PVH guest for the VMM's integration tests, still at CPL0 (so keep
 * it short: PVM hosts emulate every instruction).  The first character of
 * the command line picks the behaviour:
 *   h  print "hello from pvh" on COM1, exit with status 42 (debug-exit)
 *   l  print "looping", then spin forever (for SIGTERM / destroy tests)
 *   e  print "ready", then echo COM1 input back (console tests)
 *   t  triple fault (ud2 with no IDT)
 *   r  print "boot", then reset through the i8042 (0xfe to port 0x64)
 *   otherwise exit with status 7 */
	.section .note.Xen, "a"
	.align 4
	.long 4, 4, 18        /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.text
	.code32
	.globl _start
_start:
	mov $0x90000, %esp     /* PVH gives no stack */
	mov 24(%ebx), %eax    /* pvh_start_info.cmdline_paddr (low half) */
	movzbl (%eax), %ecx
	cmp $'h', %cl
	je hello
	cmp $'l', %cl
	je loop
	cmp $'e', %cl
	je echo
	cmp $'t', %cl
	je triple
	cmp $'r', %cl
	je reset
	mov $7, %eax
	out %eax, $0xf4

hello:
	mov $msg_hello, %esi
	call puts
	mov $42, %eax
	out %eax, $0xf4
1:	jmp 1b

loop:
	mov $msg_loop, %esi
	call puts
2:	jmp 2b

echo:
	mov $msg_ready, %esi
	call puts
3:	mov $0x3fd, %dx
	in %dx, %al
	test $1, %al
	jz 3b
	mov $0x3f8, %dx
	in %dx, %al
	out %al, %dx
	jmp 3b

reset:
	mov $msg_boot, %esi
	call puts
	mov $0xfe, %al
	out %al, $0x64
6:	jmp 6b

triple:
	lidt idt_empty
	ud2

/* puts: write the NUL-terminated string at %esi to COM1. */
puts:
	mov $0x3f8, %dx
4:	lodsb
	test %al, %al
	jz 5f
	out %al, %dx
	jmp 4b
5:	ret

	.data
idt_empty:
	.word 0
	.long 0
msg_hello: .asciz "hello from pvh\n"
msg_loop:  .asciz "looping\n"
msg_ready: .asciz "ready\n"
msg_boot:  .asciz "boot\n"
