/* SPDX-License-Identifier: MIT */
/*
 * COM1 console, polled.  Every port access is a VM exit (~3-25 us on a PVM
 * host), so we read the line status once per 16 bytes: with the FIFO on,
 * THRE set means the whole 16-byte transmit FIFO is empty.
 */
#include "mini/mini.h"
#include "pvkvm/boot.h"

#define COM_THR 0
#define COM_IER 1
#define COM_FCR 2
#define COM_LCR 3
#define COM_MCR 4
#define COM_LSR 5
#define LSR_THRE 0x20
#define FIFO_DEPTH 16
#define THRE_SPINS 1000000   /* a UART that never drains is not worth hanging for */

void mini_console_init(void)
{
	mini_outb(PVKVM_PORT_COM1 + COM_IER, 0x00);
	mini_outb(PVKVM_PORT_COM1 + COM_LCR, 0x03);   /* 8N1 */
	mini_outb(PVKVM_PORT_COM1 + COM_FCR, 0x07);   /* FIFO on, cleared */
	mini_outb(PVKVM_PORT_COM1 + COM_MCR, 0x03);   /* DTR | RTS */
}

static void wait_thre(void)
{
	for (unsigned i = 0; i < THRE_SPINS; i++)
		if (mini_inb(PVKVM_PORT_COM1 + COM_LSR) & LSR_THRE)
			return;
}

void mini_console_write(const char *s, size_t n)
{
	unsigned room = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			if (!room) {
				wait_thre();
				room = FIFO_DEPTH;
			}
			mini_outb(PVKVM_PORT_COM1 + COM_THR, '\r');
			room--;
		}
		if (!room) {
			wait_thre();
			room = FIFO_DEPTH;
		}
		mini_outb(PVKVM_PORT_COM1 + COM_THR, (uint8_t)s[i]);
		room--;
	}
}
