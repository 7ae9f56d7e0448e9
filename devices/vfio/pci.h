/* SPDX-License-Identifier: MIT */
/*
 * The "vfio-pci" personality (docs/devices/vfio-pci.md): a real PCI
 * function on the VFIO cdev behind an emulated config space on the VM's
 * PCI host.
 *
 *   pci.c         the device model: keys, realize, reset, teardown
 *   pci_config.c  the guest's config space built from the device's:
 *                 identity, BARs, capabilities (MSI-X virtualized, PM,
 *                 PCIe and vendor-specific read-only, the rest hidden);
 *                 COMMAND forwarded to the device
 *   pci_bar.c     BARs: mmappable areas as memslots that follow the BAR,
 *                 the rest trapped and forwarded with pread/pwrite
 *   pci_msix.c    MSI-X: the guest's table drives which eventfd each host
 *                 vector signals (a KVM irqfd, or a parking eventfd while
 *                 masked, which becomes the pending bit)
 *   pci_intx.c    INTx through the user-space IOAPIC with EOI resampling
 *   dfl.c         "vfio-dfl": a DFL card over this, described in the DT
 *
 * Everything touching the device goes through struct vfio_pci_io, so
 * unit tests run the config-space virtualization over a fake device.
 */
#ifndef DEVICES_VFIO_PCI_H
#define DEVICES_VFIO_PCI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pci/config.h"
#include "devices/pci/msix.h"
#include "devices/vfio/vfio.h"
#include "vmm/config/config.h"
#include "vmm/x86/insn.h"

struct vm;
struct device;

#define VFIO_PCI_MAX_MAPS 12  /* memslot pieces per BAR (sparse areas split by MSI-X) */
#define VFIO_PCI_PAGE     4096ull

/* What the personality does to the device; vfio_pci_cdev_io calls the VFIO core. */
struct vfio_pci_io {
	int (*region_read)(void *opaque, unsigned index, uint64_t offset, void *buf, size_t len);
	int (*region_write)(void *opaque, unsigned index, uint64_t offset, const void *buf,
			    size_t len);
	/* SET_IRQS TRIGGER|EVENTFD for vectors start..start+count-1 of index. */
	int (*set_eventfds)(void *opaque, unsigned index, unsigned start, unsigned count,
			    const int *fds);
	/* SET_IRQS DATA_NONE|TRIGGER, count 0: the index off. */
	int (*disable)(void *opaque, unsigned index);
	/* SET_IRQS UNMASK|EVENTFD on vector 0: signalling fd unmasks (INTx). */
	int (*set_unmask_eventfd)(void *opaque, unsigned index, int fd);
	/* VFIO_DEVICE_RESET; -ENOTTY: the device cannot be reset (no FLAG_RESET). */
	int (*reset)(void *opaque);
};

extern const struct vfio_pci_io vfio_pci_cdev_io; /* opaque: struct vfio_device * */

struct vfio_pci;

struct vfio_pci_map {
	uint64_t offset, size;      /* in the BAR; page-aligned */
	void *host;                 /* mmap of the device's region */
	int slot;                   /* KVM memslot while mapped, else -1 */
};

struct vfio_pci_bar {
	struct vfio_pci *pci;
	unsigned index;
	uint64_t size;              /* 0: not offered to the guest */
	bool io, is64, prefetch;
	unsigned map_count;
	struct vfio_pci_map maps[VFIO_PCI_MAX_MAPS];
	uint64_t mapped_base;       /* guest address the memslots sit at; 0: none */
	bool slot_warned;           /* a refused memslot is warned once (guest-triggered) */
};

struct vfio_pci_msix_layout {
	bool present;
	uint8_t device_cap;         /* offset of the capability on the device */
	unsigned vectors;           /* table size the guest sees */
	unsigned host_vectors;      /* vectors VFIO offers (GET_IRQ_INFO) */
	unsigned bar;
	uint32_t table, pba;        /* offsets in the BAR */
};

struct vfio_pci_intx {
	int pin;                    /* IOAPIC pin, -1: INTx not offered */
	int trigger_fd, unmask_fd;
	atomic_bool pending;        /* the device interrupted; not yet EOI'd */
	atomic_bool asserted;       /* the IOAPIC pin is driven */
	atomic_bool host_enabled;   /* on the host (off while MSI-X is); read by the event loop */
	bool loop_added, notifier_set;
};

struct vfio_pci {
	const char *name;
	/* config */
	char sysfs[256];            /* "" with a pre-opened fd */
	int source_fd;              /* -1: open from sysfs */
	int slot;                   /* -1: next free */
	bool mmap;                  /* map mmappable areas as memslots */
	bool no_dma;                /* vfio_source.no_dma (vfio-dfl partial assignment) */

	struct vm *vm;
	const struct vfio_pci_io *io;
	void *io_opaque;
	struct vfio_device dev;
	bool dev_open;
	uint8_t raw[PCI_CONFIG_HEADER_SIZE]; /* the device's header + capabilities at realize */
	struct pci_function fn;
	bool fn_ready;
	struct vfio_pci_bar bars[PCI_BAR_COUNT];
	struct vfio_pci_msix_layout msix;
	unsigned caps_kept, caps_hidden;
	uint8_t exp_cap;            /* guest offset of the offered PCIe capability; 0: none */
	bool flr;                   /* its DEVCAP advertises Function Level Reset */
	/* Guest-triggered, so logged once: an FLR refused, a reset VFIO cannot do. */
	bool flr_refused_logged, reset_warned;

	/* MSI-X host side; under fn.lock */
	bool msix_host_enabled;
	bool *vector_live;          /* host vector signals the KVM irqfd's eventfd */
	int *parked;                /* eventfd a masked vector signals instead */

	struct vfio_pci_intx intx;
	bool target_added;
};

/* ---- pci.c ---- */

/* Parse the keys vfio-pci and vfio-dfl share into a new dev->state. */
int vfio_pci_parse_common(struct device *dev, const struct toml_table *section,
			  const struct config_context *ctx, const char *const *extra_keys);
int vfio_pci_realize_common(struct vfio_pci *pci, struct vm *vm);
void vfio_pci_unrealize_common(struct vfio_pci *pci);
void vfio_pci_free(struct vfio_pci *pci);

/* ---- pci_config.c ---- */

/* Read the device's config header into pci->raw. */
int vfio_pci_read_config(struct vfio_pci *pci);
/*
 * Build pci->fn from pci->raw and pci->dev.regions (BAR sizes): identity,
 * BARs, MSI-X (irq_ops NULL: KVM), kept capabilities; installs the config
 * hooks. vm may be NULL in unit tests.
 */
int vfio_pci_build_function(struct vfio_pci *pci, struct vm *vm,
			    const struct pci_irq_ops *irq_ops);
/*
 * Reset the device (VFIO_DEVICE_RESET) with nothing the VMM set up on it
 * running across the reset; flr: the guest's Function Level Reset, which
 * also resets the emulated function (COMMAND, BARs, MSI-X) as an FLR
 * resets the function's registers. The model's reset and the guest's FLR
 * both come here. fn.lock held. Returns the reset's result (-ENOTTY: the
 * device cannot be reset).
 */
int vfio_pci_reset_locked(struct vfio_pci *pci, bool flr);
/* Find a capability in a raw config header (loop- and bounds-safe); 0: absent. */
unsigned vfio_pci_find_cap(const uint8_t raw[PCI_CONFIG_HEADER_SIZE], uint8_t id);

/* ---- pci_bar.c ---- */

extern const struct bus_region_ops vfio_pci_bar_ops; /* opaque: struct vfio_pci_bar * */
/*
 * The page-aligned parts of [start, start + size) minus the excluded
 * ranges, into out[max]; returns how many. Pure: unit-tested.
 */
unsigned vfio_pci_split_area(uint64_t start, uint64_t size, const uint64_t (*exclude)[2],
			     unsigned exclude_count, struct vfio_pci_map *out, unsigned max);
/* mmap the mappable pieces of every BAR (pci->mmap). */
int vfio_pci_bars_map(struct vfio_pci *pci);
/* Memslots follow the BARs' current addresses and COMMAND.MEM; fn.lock held. */
void vfio_pci_bars_sync(struct vfio_pci *pci);
void vfio_pci_bars_unmap(struct vfio_pci *pci);
/* vmm/x86/insn.c target: a 64-byte store into a trapped BAR range, forwarded. */
bool vfio_pci_store64(void *opaque, uint64_t gpa, const uint8_t data[64],
		      enum x86_store64_kind kind, bool *accepted);

/* ---- pci_msix.c ---- */

int vfio_pci_msix_init(struct vfio_pci *pci);
/* The guest's MSI-X state changed (or may have): fix each host vector's eventfd. fn.lock held. */
void vfio_pci_msix_sync(struct vfio_pci *pci);
/* Turn parked signals into pending bits (before a PBA read). Takes fn.lock. */
void vfio_pci_msix_collect(struct vfio_pci *pci);
/* Host side off (reset, teardown). fn.lock held or no vCPU running. */
void vfio_pci_msix_host_off(struct vfio_pci *pci);
void vfio_pci_msix_free(struct vfio_pci *pci);

/* ---- pci_intx.c ---- */

int vfio_pci_intx_init(struct vfio_pci *pci, struct vm *vm);
/* The trigger eventfd fired (event loop callback; callable from tests). */
void vfio_pci_intx_service(struct vfio_pci *pci);
/* COMMAND.INTX_DISABLE may have changed. fn.lock held. */
void vfio_pci_intx_command(struct vfio_pci *pci, uint16_t command);
/*
 * INTx on the host on or off (no-op without INTx). vfio-pci enables one of
 * INTx, MSI and MSI-X at a time, so MSI-X takes INTx off while it is on
 * and gives it back after. fn.lock held.
 */
void vfio_pci_intx_host(struct vfio_pci *pci, bool on);
void vfio_pci_intx_free(struct vfio_pci *pci);

#endif
