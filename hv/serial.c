/* SPDX-License-Identifier: MIT */
/* 8250/16550A UART on COM1: enough of the chip for Linux's 8250 driver
 * (autoconfig finds a 16550A) and for polled output from the mini-guest.
 * Transmit is immediate (the console backend never makes the guest wait),
 * so LSR always shows THRE|TEMT.  Receive has a 64-byte FIFO fed by the
 * console from the main loop.  The interrupt is IRQ 4 on the in-kernel
 * irqchip, raised while an enabled condition is pending. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "device.h"
#include "pv_log.h"
#include "pvkvm/boot.h"
#include "serial.h"
#include "vm.h"

#define SERIAL_IRQ 4
#define RX_FIFO    64

enum { R_RBR_THR = 0, R_IER = 1, R_IIR_FCR = 2, R_LCR = 3, R_MCR = 4, R_LSR = 5, R_MSR = 6, R_SCR = 7 };
#define IER_RDI   0x01
#define IER_THRI  0x02
#define IIR_NONE  0x01
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define FCR_FIFO  0x01
#define FCR_CLRRX 0x02
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_IDLE  0xb0 /* DCD, DSR, CTS */

struct hv_serial {
	struct hv_vm *vm;
	struct hv_console *con;
	pthread_mutex_t lock;
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	bool thr_pending;        /* THRE interrupt pending until IIR is read or THR written */
	bool irq_level;
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_count;
};

static uint8_t serial_iir(const struct hv_serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/* Caller holds the lock. */
static void serial_update_irq(struct hv_serial *s)
{
	bool level = !(serial_iir(s) & IIR_NONE);

	if (level != s->irq_level) {
		s->irq_level = level;
		hv_vm_irq_line(s->vm, SERIAL_IRQ, level);
	}
}

static void serial_rx_push(struct hv_serial *s, uint8_t c)
{
	if (s->rx_count < RX_FIFO) {
		s->rx[(s->rx_head + s->rx_count) % RX_FIFO] = c;
		s->rx_count++;
	}
}

static uint8_t serial_rx_pop(struct hv_serial *s)
{
	uint8_t c = 0;

	if (s->rx_count) {
		c = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO;
		s->rx_count--;
	}
	return c;
}

static void serial_write(struct hv_serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case R_RBR_THR:
		if (dlab) {
			s->dll = v;
		} else {
			if (s->mcr & MCR_LOOP)
				serial_rx_push(s, v);
			else
				hv_console_write(s->con, &v, 1);
			s->thr_pending = true;
		}
		break;
	case R_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case R_IIR_FCR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLRRX)
			s->rx_count = 0;
		break;
	case R_LCR:
		s->lcr = v;
		break;
	case R_MCR:
		s->mcr = v & 0x1f;
		break;
	case R_SCR:
		s->scr = v;
		break;
	default: /* LSR, MSR: read-only */
		break;
	}
}

static uint8_t serial_read(struct hv_serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v = 0;

	switch (reg) {
	case R_RBR_THR:
		v = dlab ? s->dll : serial_rx_pop(s);
		break;
	case R_IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case R_IIR_FCR:
		v = serial_iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_pending = false;
		break;
	case R_LCR:
		v = s->lcr;
		break;
	case R_MCR:
		v = s->mcr;
		break;
	case R_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
		break;
	case R_MSR:
		/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (autoconfig checks it). */
		v = (s->mcr & MCR_LOOP) ? (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) |
						    ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4))
					: MSR_IDLE;
		break;
	case R_SCR:
		v = s->scr;
		break;
	}
	return v;
}

static void serial_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct hv_serial *s = opaque;
	uint8_t *b = data;

	pthread_mutex_lock(&s->lock);
	/* Wider accesses act on consecutive registers, as on the ISA bus. */
	for (unsigned i = 0; i < len && off + i < 8; i++) {
		if (is_write)
			serial_write(s, (unsigned)off + i, b[i]);
		else
			b[i] = serial_read(s, (unsigned)off + i);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct hv_serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len; i++)
		serial_rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int hv_serial_init(struct hv_vm *vm, struct hv_console *con)
{
	struct hv_serial *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->con = con;
	s->dll = 12; /* 9600 baud, as firmware would leave it */
	pthread_mutex_init(&s->lock, NULL);
	r = hv_io_register(&vm->pio, PVKVM_PORT_COM1, 8, serial_io, s);
	if (r == 0 && con)
		r = hv_console_attach(con, vm, serial_input, s);
	if (r < 0) {
		hv_io_unregister(&vm->pio, PVKVM_PORT_COM1);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return r;
	}
	vm->serial = s;
	return 0;
}

void hv_serial_free(struct hv_vm *vm)
{
	struct hv_serial *s = vm->serial;

	if (!s)
		return;
	hv_io_unregister(&vm->pio, PVKVM_PORT_COM1);
	pthread_mutex_destroy(&s->lock);
	free(s);
	vm->serial = NULL;
}

static int serial_dev_init(struct hv_vm *vm)
{
	return hv_serial_init(vm, vm->console);
}
HV_DEVICE(serial, "serial", HV_DEV_ORDER_LEGACY, serial_dev_init, hv_serial_free);
