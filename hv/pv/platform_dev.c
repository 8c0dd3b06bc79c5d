/* SPDX-License-Identifier: MIT */
/* PV platform device registers, hypercall stubs and exits, doorbell ioeventfds. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "platform_dev.h"
#include "pv_log.h"
#include "pvkvm/platform.h"

void pv_hcall_page_fill(uint8_t *page, uint64_t trigger_gpa)
{
	memset(page, 0xcc, PVKVM_PAGE_SIZE); /* int3 between stubs and after them */
	for (uint32_t nr = 0; nr < PVKVM_HCALL_MAX; nr++) {
		uint8_t *s = page + nr * PVKVM_HCALL_STUB_SIZE;

		s[0] = 0xb8; /* mov $nr,%eax */
		memcpy(s + 1, &nr, 4);
		s[5] = 0x49; /* movabs $trigger,%r11 */
		s[6] = 0xbb;
		memcpy(s + 7, &trigger_gpa, 8);
		s[15] = 0x41; /* mov %eax,(%r11) */
		s[16] = 0x89;
		s[17] = 0x03;
		s[18] = 0xc3; /* ret */
	}
}

void pv_plat_dev_init(struct pv_plat_dev *d, struct pv_plat *plat, int vm_fd)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->plat = plat;
	d->vm_fd = vm_fd;
	d->bar0_gpa = PV_BAR_UNSET;
	d->bar2_port = PV_BAR_UNSET;
	d->page_gpa = UINT64_MAX;
	for (unsigned p = 0; p < PVKVM_EVTCHN_NR_PORTS; p++)
		d->db_efd[p] = -1;
}

void pv_plat_dev_destroy(struct pv_plat_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

/* One doorbell ioeventfd (MMIO or PIO) for port; 0 or -errno. */
static int ioeventfd_set(struct pv_plat_dev *d, uint64_t addr, bool pio, uint32_t port, int efd,
			 bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = port, .addr = addr + PVKVM_PLAT_REG_DOORBELL, .len = 4, .fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (d->vm_fd < 0 || addr == PV_BAR_UNSET)
		return 0;
	return ioctl(d->vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}

static int doorbell_set_locked(struct pv_plat_dev *d, uint32_t port, int efd, bool assign)
{
	int err = ioeventfd_set(d, d->bar0_gpa, false, port, efd, assign);

	if (!err) {
		err = ioeventfd_set(d, d->bar2_port, true, port, efd, assign);
		if (err && assign)
			ioeventfd_set(d, d->bar0_gpa, false, port, efd, false);
	}
	return err;
}

int pv_plat_dev_doorbell_bind(void *opaque, uint32_t port, int efd)
{
	struct pv_plat_dev *d = opaque;
	int err;

	pthread_mutex_lock(&d->lock);
	err = doorbell_set_locked(d, port, efd, true);
	if (!err)
		d->db_efd[port] = efd;
	pthread_mutex_unlock(&d->lock);
	return err;
}

void pv_plat_dev_doorbell_unbind(void *opaque, uint32_t port, int efd)
{
	struct pv_plat_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (d->db_efd[port] == efd) {
		doorbell_set_locked(d, port, efd, false);
		d->db_efd[port] = -1;
	}
	pthread_mutex_unlock(&d->lock);
}

static void stubs_write_locked(struct pv_plat_dev *d)
{
	uint8_t *page;

	if (d->page_gpa == UINT64_MAX || d->bar0_gpa == PV_BAR_UNSET)
		return;
	page = pv_gmem_ptr(&d->plat->gmem, d->page_gpa, PVKVM_PAGE_SIZE);
	if (page)
		pv_hcall_page_fill(page, d->bar0_gpa + PVKVM_PLAT_REG_HCALL_TRIGGER);
}

int pv_plat_dev_set_bars(struct pv_plat_dev *d, uint64_t bar0_gpa, uint64_t bar2_port)
{
	int err = 0;

	pthread_mutex_lock(&d->lock);
	for (uint32_t p = 1; p < PVKVM_EVTCHN_NR_PORTS; p++)
		if (d->db_efd[p] >= 0)
			doorbell_set_locked(d, p, d->db_efd[p], false);
	d->bar0_gpa = bar0_gpa;
	d->bar2_port = bar2_port;
	for (uint32_t p = 1; p < PVKVM_EVTCHN_NR_PORTS; p++)
		if (d->db_efd[p] >= 0) {
			int e = doorbell_set_locked(d, p, d->db_efd[p], true);

			if (e && !err)
				err = e; /* that port falls back to the slow path */
		}
	stubs_write_locked(d);
	pthread_mutex_unlock(&d->lock);
	return err;
}

static void reg_write(struct pv_plat_dev *d, uint64_t offset, uint32_t v)
{
	switch (offset) {
	case PVKVM_PLAT_REG_DOORBELL:
		/* No ioeventfd matched: an unbound, VMM-served or bad port. */
		evtchn_send(d->plat->evtchn, v);
		break;
	case PVKVM_PLAT_REG_HCALL_PAGE_LO:
		pthread_mutex_lock(&d->lock);
		d->page_lo = v;
		pthread_mutex_unlock(&d->lock);
		break;
	case PVKVM_PLAT_REG_HCALL_PAGE_HI: {
		pthread_mutex_lock(&d->lock);
		uint64_t gpa = ((uint64_t)v << 32) | d->page_lo;
		bool ok = !(gpa & (PVKVM_PAGE_SIZE - 1)) &&
			  pv_gmem_ptr(&d->plat->gmem, gpa, PVKVM_PAGE_SIZE);
		d->page_gpa = ok ? gpa : UINT64_MAX;
		stubs_write_locked(d);
		bool log = !ok && d->refusals_logged < 4;
		d->refusals_logged += log;
		pthread_mutex_unlock(&d->lock);
		if (log)
			pv_log_warn("pv", "domain %u: refused hypercall page at %#llx",
				    d->plat->domid, (unsigned long long)gpa);
		break;
	}
	}
}

static uint32_t reg_read(struct pv_plat_dev *d, uint64_t offset)
{
	uint32_t v = 0;

	pthread_mutex_lock(&d->lock);
	switch (offset) {
	case PVKVM_PLAT_REG_HCALL_PAGE_LO:
		v = (uint32_t)d->page_gpa;
		break;
	case PVKVM_PLAT_REG_HCALL_PAGE_HI:
		v = (uint32_t)(d->page_gpa >> 32);
		break;
	case PVKVM_PLAT_REG_VERSION:
		v = PVKVM_PLAT_ABI_VERSION;
		break;
	case PVKVM_PLAT_REG_NR_VCPUS:
		v = d->plat->nr_vcpus;
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

void pv_plat_dev_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct pv_plat_dev *d = opaque;
	uint32_t v = 0;

	/* Registers are 32-bit and aligned; anything else is ignored / reads 0s. */
	if (len != 4 || (offset & 3) || offset >= PVKVM_PLAT_MMIO_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		if (offset != PVKVM_PLAT_REG_HCALL_TRIGGER)
			reg_write(d, offset, v);
	} else {
		v = reg_read(d, offset);
		memcpy(data, &v, 4);
	}
}

bool pv_plat_dev_is_trigger(struct pv_plat_dev *d, uint64_t mmio_addr)
{
	return d->bar0_gpa != PV_BAR_UNSET &&
	       mmio_addr == d->bar0_gpa + PVKVM_PLAT_REG_HCALL_TRIGGER;
}

int pv_plat_dev_hcall_exit(struct pv_plat_dev *d, uint32_t vcpu, int vcpu_fd, uint32_t nr)
{
	struct kvm_regs r;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r))
		return -errno;
	uint64_t args[5] = { r.rdi, r.rsi, r.rdx, r.r10, r.r8 };
	r.rax = (uint64_t)pv_hcall_dispatch(d->plat, vcpu, nr, args);
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r))
		return -errno;
	return 0;
}
