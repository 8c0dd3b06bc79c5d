/* SPDX-License-Identifier: MIT */
/* The host harness: see harness.h. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

uint64_t harness_gpa(struct harness_guest *g, const void *p)
{
	uint64_t off = (uint64_t)((const uint8_t *)p - g->ram);

	return off < g->ram_size / 2 ? off : HARNESS_HOLE_GPA + off - g->ram_size / 2;
}

void *harness_alloc_page(struct harness_guest *g)
{
	void *p;

	if (g->next_gpa + 4096 > g->ram_size / 2)
		return NULL;
	p = g->ram + g->next_gpa;
	g->next_gpa += 4096;
	memset(p, 0, 4096);
	return p;
}

int64_t harness_hcall(struct harness_guest *g, uint32_t vcpu, uint64_t nr, uint64_t a1,
		      uint64_t a2, uint64_t a3)
{
	uint64_t args[5] = { a1, a2, a3, 0, 0 };

	__atomic_fetch_add(&g->vmm_exits, 1, __ATOMIC_RELAXED);
	return pv_hcall_dispatch(g->plat, vcpu, nr, args);
}

/* struct pvfront_env callbacks. */
static void *env_alloc_page(void *o)
{
	return harness_alloc_page(o);
}

static uint64_t env_v2p(void *o, const void *va)
{
	return harness_gpa(o, va);
}

static void *env_p2v(void *o, uint64_t pa)
{
	struct harness_guest *g = o;

	return pv_gmem_ptr(&g->gmem, pa, 1);
}

/* What KVM does with a doorbell write: an ioeventfd with datamatch = port
 * completes it in the kernel; otherwise the VMM handles the exit. */
static void env_doorbell(void *o, uint32_t port)
{
	struct harness_guest *g = o;
	uint64_t one = 1;
	int fd = -1;

	pthread_mutex_lock(&g->db_lock);
	if (port < PVKVM_EVTCHN_NR_PORTS)
		fd = g->db_fd[port];
	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		fd = -1;
	pthread_mutex_unlock(&g->db_lock);
	if (fd < 0) {
		__atomic_fetch_add(&g->vmm_exits, 1, __ATOMIC_RELAXED);
		evtchn_send(g->plat->evtchn, port);
	}
}

static int64_t env_hcall(void *o, uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return harness_hcall(o, 0, nr, a1, a2, a3);
}

static void env_log(void *o, const char *msg)
{
	fprintf(stderr, "guest: %s\n", msg);
}

static void env_relax(void *o)
{
	sched_yield();
}

/* struct evtchn_host_ops: the KVM_IOEVENTFD / irqfd stand-ins. */
static int host_doorbell_bind(void *o, uint32_t port, int efd)
{
	struct harness_guest *g = o;

	pthread_mutex_lock(&g->db_lock);
	g->db_fd[port] = efd;
	pthread_mutex_unlock(&g->db_lock);
	return 0;
}

static void host_doorbell_unbind(void *o, uint32_t port, int efd)
{
	struct harness_guest *g = o;

	pthread_mutex_lock(&g->db_lock);
	if (g->db_fd[port] == efd)
		g->db_fd[port] = -1;
	pthread_mutex_unlock(&g->db_lock);
}

static int host_upcall_fd(void *o, uint32_t vcpu)
{
	struct harness_guest *g = o;

	return vcpu < g->nr_vcpus ? g->upcall_fd[vcpu] : -ENODEV;
}

static int host_shutdown(void *o, uint32_t reason)
{
	((struct harness_guest *)o)->shutdown_reason = (int)reason;
	return 0;
}

static void host_store_notify(void *o)
{
	struct harness_guest *g = o;

	if (g->store)
		pv_store_proxy_kick(g->store);
}

int harness_store_attach(struct harness_guest *g, int store_fd)
{
	void *page = harness_alloc_page(g);
	int err;

	if (!page)
		return -ENOMEM;
	err = pv_plat_set_store_ring(g->plat, harness_gpa(g, page) >> 12);
	if (!err)
		err = pv_store_proxy_start(&g->store, g->plat, store_fd);
	return err;
}

static int harness_ram(struct harness_guest *g, uint64_t ram_size)
{
	struct pv_gmem_range r[2] = {
		{ .gpa = 0, .size = ram_size / 2, .offset = 0 },
		{ .gpa = HARNESS_HOLE_GPA, .size = ram_size / 2, .offset = ram_size / 2 },
	};

	g->memfd = memfd_create("harness-ram", MFD_CLOEXEC);
	if (g->memfd < 0 || ftruncate(g->memfd, (off_t)ram_size))
		return -errno;
	g->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	if (g->ram == MAP_FAILED)
		return -errno;
	g->ram_size = ram_size;
	g->next_gpa = 4096; /* keep page 0 unused, like real guests */
	return pv_gmem_init(&g->gmem, g->ram, ram_size, r, 2);
}

int harness_guest_new(struct harness_guest **out, uint64_t ram_size, uint32_t nr_vcpus)
{
	struct harness_guest *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->db_lock, NULL);
	for (unsigned p = 0; p < PVKVM_EVTCHN_NR_PORTS; p++)
		g->db_fd[p] = -1;
	g->nr_vcpus = nr_vcpus;
	g->shutdown_reason = -1;
	for (unsigned v = 0; v < nr_vcpus; v++)
		g->upcall_fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->ops = (struct pv_plat_ops){
		.evtchn = { host_doorbell_bind, host_doorbell_unbind, host_upcall_fd },
		.shutdown = host_shutdown,
		.store_notify = host_store_notify,
	};
	err = harness_ram(g, ram_size);
	if (err)
		goto fail;
	err = -ENOMEM;
	g->plat = pv_plat_new(HARNESS_DOMID, nr_vcpus, &g->gmem, &g->ops, g);
	if (!g->plat)
		goto fail;
	snprintf(g->run_dir, sizeof(g->run_dir), "/tmp/pvkvm-harness-XXXXXX");
	err = -errno;
	if (!mkdtemp(g->run_dir))
		goto fail;
	err = pv_ctl_open(&g->ctl, g->plat, g->run_dir, "guest", g->memfd, ram_size);
	if (err)
		goto fail;
	snprintf(g->ctl_path, sizeof(g->ctl_path), "%s", pv_ctl_path(g->ctl));
	err = pv_ctl_start(g->ctl);
	if (err)
		goto fail;
	g->env = (struct pvfront_env){
		.opaque = g, .alloc_page = env_alloc_page, .virt_to_phys = env_v2p,
		.phys_to_virt = env_p2v, .doorbell = env_doorbell, .hypercall = env_hcall,
		.log = env_log, .relax = env_relax,
	};
	err = pvfront_init(&g->front, &g->env, (uint16_t)nr_vcpus);
	if (err)
		goto fail;
	*out = g;
	return 0;
fail:
	harness_guest_free(g);
	return err;
}

void harness_guest_free(struct harness_guest *g)
{
	if (!g)
		return;
	pv_store_proxy_stop(g->store);
	pv_ctl_close(g->ctl);
	pv_plat_free(g->plat);
	if (g->run_dir[0])
		rmdir(g->run_dir);
	if (g->ram && g->ram != MAP_FAILED)
		munmap(g->ram, g->ram_size);
	if (g->memfd > 0)
		close(g->memfd);
	for (unsigned v = 0; v < g->nr_vcpus; v++)
		if (g->upcall_fd[v] >= 0)
			close(g->upcall_fd[v]);
	pthread_mutex_destroy(&g->db_lock);
	free(g);
}
