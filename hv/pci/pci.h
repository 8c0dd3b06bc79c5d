/* SPDX-License-Identifier: MIT */
/* PCI host bridge (bus 0, config mechanism 1 at 0xcf8/0xcfc, optional ECAM)
 * and the device framework the emulated devices plug into: config space with
 * write masks, up to six BARs that the guest sizes and moves (a move
 * re-registers the range on the iobus), a capability list, and MSI-X with
 * per-vector irqfds so a backend raises a vector without a VMM exit.
 *
 * The host depends on the VM only through struct hv_pci_host_cfg (the two
 * buses, the VM fd, a memory translation callback); see README.md for the
 * calls the VMM makes at VM creation.
 *
 * The host bridge claims its windows (I/O, 32-bit and 64-bit MMIO, ECAM)
 * on the iobus once, at init, and routes accesses inside them to the BAR that
 * decodes the address: a BAR move changes only the host's own table.  The
 * iobus runs handlers under its read lock, so re-registering a range from a
 * config write (itself a handler on the same bus) would deadlock; and like a
 * real host bridge, a BAR programmed outside the windows decodes nothing.
 *
 * Locking: cfg_lock guards config space and the 0xcf8 latch; map_lock (a
 * rwlock) guards the decode table: window accesses read it, BAR moves write
 * it, taken before cfg_lock.  Each device's MSI-X state has its own lock. */
#ifndef HV_PCI_H
#define HV_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../iobus.h"

#define HV_PCI_MAX_SLOTS 32
#define HV_PCI_NR_BARS 6
#define HV_PCI_CFG_SIZE 256

/* Standard config-space offsets and bits used by devices and tests. */
#define HV_PCI_VENDOR_ID 0x00
#define HV_PCI_DEVICE_ID 0x02
#define HV_PCI_COMMAND 0x04
#define HV_PCI_STATUS 0x06
#define HV_PCI_CLASS_REVISION 0x08
#define HV_PCI_HEADER_TYPE 0x0e
#define HV_PCI_BAR0 0x10
#define HV_PCI_SUBSYS_VENDOR 0x2c
#define HV_PCI_ROM_ADDRESS 0x30
#define HV_PCI_CAP_PTR 0x34
#define HV_PCI_INT_LINE 0x3c
#define HV_PCI_INT_PIN 0x3d
#define HV_PCI_CMD_IO 0x0001
#define HV_PCI_CMD_MEM 0x0002
#define HV_PCI_CMD_MASTER 0x0004
#define HV_PCI_CMD_INTX_DISABLE 0x0400
#define HV_PCI_STATUS_CAP_LIST 0x0010
#define HV_PCI_CAP_ID_MSIX 0x11
#define HV_PCI_CAP_ID_VNDR 0x09

/* PCI host bridge IDs (Intel 440FX host bridge, as QEMU and kvmtool use). */
#define HV_PCI_HOST_VENDOR 0x8086
#define HV_PCI_HOST_DEVICE 0x1237

enum hv_pci_bar_type {
	HV_PCI_BAR_NONE = 0,
	HV_PCI_BAR_IO,     /* port I/O, size 4..256 bytes */
	HV_PCI_BAR_MMIO32, /* memory below 4 GiB, size >= 4 KiB */
	HV_PCI_BAR_MMIO64, /* 64-bit memory; also takes the next BAR slot */
	HV_PCI_BAR_UPPER,  /* internal: high half of the previous MMIO64 BAR */
};

struct hv_pci_dev;
struct hv_pci_host;
struct hv_msix;

struct hv_pci_bar {
	enum hv_pci_bar_type type;
	uint64_t size;
	hv_io_fn fn;    /* the device's handler; offsets relative to the BAR */
	void *opaque;
	struct hv_pci_dev *dev;
	unsigned index;
	/* Where the BAR decodes now (under map_lock). */
	bool mapped;
	uint64_t mapped_addr;
};

struct hv_pci_dev {
	const char *name;
	struct hv_pci_host *host; /* set by hv_pci_host_add() */
	int slot;                 /* device number on bus 0, -1 until added */
	uint8_t cfg[HV_PCI_CFG_SIZE];
	uint8_t wmask[HV_PCI_CFG_SIZE]; /* bits the guest may change */
	struct hv_pci_bar bar[HV_PCI_NR_BARS];
	uint8_t cap_next;     /* config offset where the next capability goes */
	uint8_t cap_last_ptr; /* config offset of the last "next" pointer */
	struct hv_msix *msix; /* NULL without MSI-X */
	bool intx_pin;        /* uses INTA (hv_pci_intx_init) */
	bool intx_level;      /* the device asserts INTx (under cfg_lock) */
	bool intx_out;        /* ...and it reaches the GSI (not INTX_DISABLEd) */
	/* Called (without PCI locks) after BAR bar started or stopped decoding
	 * or moved, e.g. to move KVM ioeventfds along with it; may be NULL. */
	void (*bar_moved)(struct hv_pci_dev *dev, unsigned bar, bool mapped, uint64_t addr);
	/* Called (without cfg_lock) after the guest wrote config space; may be NULL. */
	void (*cfg_written)(struct hv_pci_dev *dev, unsigned offset, unsigned len);
	/* Frees the device; called by hv_pci_host_destroy(). */
	void (*free)(struct hv_pci_dev *dev);
};

struct hv_pci_host_cfg {
	struct hv_iobus *pio;
	struct hv_iobus *mmio;
	int vm_fd;                /* -1: no KVM (tests); MSIs then need msi_signal */
	bool kvm_irqchip_routes;  /* in-kernel PIC+IOAPIC: keep GSIs 0-23 in routing */
	/* The host bridge's windows: BARs decode only inside them, and
	 * hv_pci_host_add() assigns addresses from them as firmware would. */
	uint32_t io_base, io_end;          /* e.g. 0x1000 .. 0x10000 */
	uint64_t mmio32_base, mmio32_end;  /* below 4 GiB, in the PCI hole */
	uint64_t mmio64_base, mmio64_end;  /* 0/0: 64-bit BARs go below 4 GiB */
	uint64_t ecam_base;                /* 0: no ECAM window (1 MiB for bus 0) */
	/* Guest-physical to host pointer for devices that DMA; NULL if outside RAM. */
	void *(*gpa_to_hva)(void *opaque, uint64_t gpa, uint64_t len);
	void *mem_opaque;
	/* Optional MSI delivery override (tests, split irqchip); default KVM_SIGNAL_MSI. */
	int (*msi_signal)(void *opaque, uint64_t addr, uint32_t data);
	void *msi_opaque;
	/* Optional INTx line override; default KVM_IRQ_LINE (in-kernel irqchip). */
	int (*irq_line)(void *opaque, unsigned gsi, bool level);
	void *irq_opaque;
};

struct hv_msi_router;

struct hv_pci_host {
	struct hv_pci_host_cfg cfg;
	pthread_mutex_t cfg_lock;
	pthread_rwlock_t map_lock;
	uint32_t cf8; /* config address latch */
	struct hv_pci_dev *slots[HV_PCI_MAX_SLOTS];
	struct hv_pci_dev bridge; /* slot 0 */
	uint64_t io_next, mmio32_next, mmio64_next;
	struct hv_msi_router *router;
	/* BARs that decode now (under map_lock). */
	unsigned intx_asserted[4]; /* devices asserting each INTx GSI (cfg_lock) */
	struct hv_pci_bar *decoding[HV_PCI_MAX_SLOTS * HV_PCI_NR_BARS];
	unsigned nr_decoding;
	bool locks_ready;
	bool conf1_registered, ecam_registered, io_registered, mmio32_registered,
		mmio64_registered;
};

/* Host bridge lifetime.  init registers 0xcf8-0xcff, the windows and ECAM
 * (which must lie outside the MMIO windows) and puts the host bridge at slot
 * 0; destroy unregisters everything and frees the devices. */
int hv_pci_host_init(struct hv_pci_host *host, const struct hv_pci_host_cfg *cfg);
void hv_pci_host_destroy(struct hv_pci_host *host);
/* Adds dev at slot (or the first free one for slot < 0), assigns BAR
 * addresses from the windows and enables decoding, as firmware would. */
int hv_pci_host_add(struct hv_pci_host *host, struct hv_pci_dev *dev, int slot);
/* Config-space access by bus/dev/fn, as mechanism 1 and ECAM see it. */
void hv_pci_cfg_access(struct hv_pci_host *host, unsigned bus, unsigned devfn,
		       unsigned offset, void *data, unsigned len, bool is_write);
void *hv_pci_gpa_to_hva(struct hv_pci_host *host, uint64_t gpa, uint64_t len);
/* Whether the guest let dev master the bus (command bit 2): DMA only then. */
bool hv_pci_bus_master_enabled(struct hv_pci_dev *dev);

/* Device construction, before hv_pci_host_add(). class_code is 24 bits:
 * base class << 16 | subclass << 8 | prog-if. */
void hv_pci_dev_init(struct hv_pci_dev *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision);
/* size: power of two; IO 4..256, MMIO rounded up to 4 KiB.  -EINVAL if the
 * slot (or, for MMIO64, the next one) is taken or the size is bad. */
int hv_pci_bar_init(struct hv_pci_dev *dev, unsigned bar, enum hv_pci_bar_type type,
		    uint64_t size, hv_io_fn fn, void *opaque);
/* Frees what the framework allocated for a device that was never added
 * (error paths in a device's create function). */
void hv_pci_dev_cleanup(struct hv_pci_dev *dev);
/* Current guest address of a BAR and whether it decodes (false if not mapped). */
bool hv_pci_bar_addr(struct hv_pci_dev *dev, unsigned bar, uint64_t *addr);
/* Appends capability cap_id with body (the bytes after id/next) to the list;
 * returns its config offset or -ENOSPC.  wmask_body may be NULL (read-only). */
int hv_pci_cap_add(struct hv_pci_dev *dev, uint8_t cap_id, const void *body,
		   unsigned body_len, const void *wmask_body);

/* INTx, for devices without MSI-X (e1000): INTA of slot s is wired to
 * IOAPIC GSI HV_PCI_INTX_GSI(s), level-triggered, as the DSDT's _PRT and the
 * MP table describe.  Four GSIs are shared by all slots, so a GSI stays
 * asserted while any device on it asserts (and has INTX_DISABLE clear). */
#define HV_PCI_INTX_GSI_BASE 16
#define HV_PCI_INTX_GSI(slot) (HV_PCI_INTX_GSI_BASE + (unsigned)(slot) % 4)
/* Before hv_pci_host_add(): the device has an interrupt pin (INTA). */
void hv_pci_intx_init(struct hv_pci_dev *dev);
/* Raise (level-triggered: until the device deasserts) or lower INTx.
 * -EINVAL without hv_pci_intx_init() or before hv_pci_host_add(). */
int hv_pci_intx_set(struct hv_pci_dev *dev, bool level);

/* MSI-X (msix.c).  Table and PBA live in BAR `bar` at the given offsets
 * (8-byte aligned, not overlapping); the framework serves them, the device's
 * own handler sees the rest of the BAR. */
int hv_pci_msix_init(struct hv_pci_dev *dev, unsigned nr_vectors, unsigned bar,
		     uint32_t table_offset, uint32_t pba_offset);
/* Raise a vector from the VMM: delivered now if enabled and unmasked,
 * otherwise its PBA bit is set and it is delivered on unmask.  A vector with
 * an irqfd is raised by writing its eventfd. */
int hv_pci_msix_notify(struct hv_pci_dev *dev, unsigned vector);
/* Binds eventfd to vector through a KVM GSI route + irqfd: a write to
 * eventfd raises the vector in the kernel.  The route follows the guest's
 * table writes; masking detaches the irqfd (the eventfd count is kept and
 * delivered on unmask).  eventfd < 0 unbinds.  -ENODEV without a VM fd. */
int hv_msix_vector_irqfd(struct hv_pci_dev *dev, unsigned vector, int eventfd);
/* Guest-visible state of a vector, for devices and tests. */
bool hv_pci_msix_masked(struct hv_pci_dev *dev, unsigned vector);
bool hv_pci_msix_pending(struct hv_pci_dev *dev, unsigned vector);

/* Device types register themselves in their own file:
 *
 *     HV_PCI_DEVICE_TYPE(testdev, "pvkvm-test", hv_testdev_create);
 *
 * and the VMM creates them by name, so adding a device touches one file and
 * the build list.  The object must be linked directly, not from an archive. */
struct hv_pci_dev_type {
	const char *name;
	/* Builds the device and adds it with hv_pci_host_add(); args: the
	 * device's option string from the config, may be NULL. */
	int (*create)(struct hv_pci_host *host, const char *args, struct hv_pci_dev **out);
};

#define HV_PCI_DEVICE_TYPE(ident, name_, fn)                                    \
	static const struct hv_pci_dev_type hv_pci_dev_type_##ident              \
		__attribute__((used, section("hv_pci_dev_types"), aligned(8))) = { \
		.name = name_, .create = fn }

const struct hv_pci_dev_type *hv_pci_dev_type_find(const char *name);
/* Creates a device of type name (-ENOENT if unknown). */
int hv_pci_create_device(struct hv_pci_host *host, const char *name, const char *args,
			 struct hv_pci_dev **out);

#endif
