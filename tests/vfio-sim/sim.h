/* SPDX-License-Identifier: MIT */
/*
 * VFIO host simulator: what the unmodified `vmm` binary sees as /dev/iommu,
 * /dev/vfio/devices/vfioN (and the legacy group nodes /dev/vfio/G, for
 * their exclusion against BIND) and their sysfs, on a machine with no iommufd
 * kernel and no DSA, DFL or DPAA2 hardware. Loaded with LD_PRELOAD
 * (libvfiosim.so); tests/vfio-sim/README.md says how to run it.
 *
 *   VMM_VFIO_SIM_CONFIG  TOML file listing the simulated host devices
 *                        ([devices.NAME] sections, `kind` picks a backend)
 *   VMM_VFIO_SIM_ROOT    directory holding the fake sysfs/dev tree and the
 *                        cross-process IOMMU-group ownership locks (default
 *                        derived from the config path)
 *
 * Layers:
 *   interpose.c  libc entry points (open/openat/opendir/readlink/stat/
 *                ioctl/pread/pwrite/mmap/close) that redirect /sys, /dev/iommu
 *                and /dev/vfio paths and dispatch calls on simulated fds
 *   iommufd.c    iommufd contexts, IOAS objects, mappings, IOVA ranges and
 *                reserved regions, DMA translation for devices
 *   cdev.c       VFIO device cdev semantics: bind/attach rules, group
 *                ownership, info ioctls, region access, SET_IRQS
 *   pci_config.c a PCI config space helper for PCI backends
 *   dev_*.c      backends built on the project's own device models
 *
 * The kernel's rules implemented (argsz/size checks, errno values) are
 * those of reference/device-facts.md sections 1-2 and 4.6.
 */
#ifndef TESTS_VFIO_SIM_SIM_H
#define TESTS_VFIO_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uapi/vfio_compat.h"
#include "vmm/config/toml.h"
#include "vmm/memory.h"

#define SIM_MAX_REGIONS  16
#define SIM_MAX_IRQS     8
#define SIM_MAX_VECTORS  64
#define SIM_MAX_AREAS    4

struct sim;
struct sim_device;

struct sim_region {
	uint32_t flags;              /* VFIO_REGION_INFO_FLAG_READ/WRITE/MMAP */
	uint64_t size;               /* 0: region absent (GET_REGION_INFO gives size 0) */
	/* mmap: MMAP without areas = whole region; with sparse = true the
	 * areas are reported as a SPARSE_MMAP capability and only they map. */
	bool sparse;
	unsigned area_count;
	struct { uint64_t offset, size; } areas[SIM_MAX_AREAS];
	/* Backing of the mmappable bytes: a memfd (region offset 0 = memfd
	 * offset 0) and the simulator's own shared mapping of it, which the
	 * backend watches (polled portals). -1 / NULL when not mmappable. */
	int memfd;
	uint8_t *memory;
};

struct sim_irq {
	uint32_t flags;              /* VFIO_IRQ_INFO_EVENTFD/MASKABLE/AUTOMASKED/NORESIZE */
	uint32_t count;
};

/* A backend's operations; every pointer may be NULL unless stated. */
struct sim_device_ops {
	/* pread/pwrite on a region outside its mmapped memory (required).
	 * Return bytes done or -errno (the syscall fails with that errno). */
	ssize_t (*read)(struct sim_device *dev, unsigned region, uint64_t offset, void *buf,
			size_t len);
	ssize_t (*write)(struct sim_device *dev, unsigned region, uint64_t offset, const void *buf,
			 size_t len);
	/* VFIO_DEVICE_RESET; NULL: the device has no FLAG_RESET (ENOTTY). */
	int (*reset)(struct sim_device *dev);
	/* SET_IRQS changed which vectors of `index` have a trigger eventfd. */
	void (*irqs_changed)(struct sim_device *dev, unsigned index);
	/* DMA became possible (attached to an IOAS) or blocked (detached, closed). */
	void (*dma_changed)(struct sim_device *dev, bool attached);
	/* The last fd on the device closed (the kernel resets on release). */
	void (*released)(struct sim_device *dev);
	void (*destroy)(struct sim_device *dev);
};

struct sim_device {
	const struct sim_device_ops *ops;
	void *state;                 /* the backend's */
	char name[64];               /* [devices.NAME] (sub-devices: NAME/obj) */
	char bus[16];                /* "pci", "platform", "fsl-mc" */
	char sysfs[256];             /* as the VMM names it: "/sys/bus/pci/devices/0000:6a:01.0" */
	char driver[32];             /* bound driver: "vfio-pci", ...; else a host driver
	                              * (then the group has a non-VFIO owner: EPERM at BIND) */
	int group;                   /* IOMMU group number */
	uint32_t flags;              /* VFIO_DEVICE_FLAGS_*; RESET is added when ops->reset */
	unsigned region_count;
	struct sim_region regions[SIM_MAX_REGIONS];
	unsigned irq_count;
	struct sim_irq irqs[SIM_MAX_IRQS];
	/*
	 * The device's DMA view: IOVA -> host pointer through the IOAS it is
	 * attached to (guest_memory_ptr() returns NULL for an unmapped IOVA or a
	 * blocked device, and the core counts an IOMMU fault). Hand this to the
	 * project's models in place of guest RAM.
	 */
	struct guest_memory dma;
	void *core;                  /* the simulator core's per-device state */
};

/* ---- for backends ---- */

/*
 * Keys of every [devices.NAME] section that the core reads itself; a
 * backend checking its keys lists these too:
 *   kind      the backend
 *   sysfs     device directory as the VMM names it (default per bus:
 *             pci "/sys/bus/pci/devices/0000:00:NN.0", else
 *             "/sys/bus/<bus>/devices/<name>")
 *   group     IOMMU group number (default: a new group per section)
 *   driver    bound host driver (default "vfio-pci", "vfio-platform" or
 *             "vfio-fsl-mc" by bus); any other name is a host driver: the
 *             device gets no cdev and its group cannot be claimed (EPERM)
 *   reserved  [[start, last], ...] IOVA ranges the device's IOMMU reserves;
 *             they leave IOVA_RANGES of an IOAS the device attaches to
 * driver and reserved apply to every device a section creates.
 */
#define SIM_COMMON_KEYS "kind", "sysfs", "group", "driver", "reserved"

/*
 * A new device registered with the simulator (appears in sysfs and /dev).
 * sysfs NULL or group < 0: the section's `sysfs`/`group` keys, else the
 * defaults above (the first device of a section takes the keys; further
 * ones get derived names and share the group). NULL on error (logged).
 */
struct sim_device *sim_device_add(struct sim *sim, const char *name, const char *bus,
				  const char *sysfs, int group);
/* The simulator config file, for a backend's error messages. */
const char *sim_config_path(const struct sim *sim);
/* Allocate an mmappable backing of `size` bytes for region `index`. 0 or -errno. */
int sim_region_alloc_memory(struct sim_device *dev, unsigned index, uint64_t size);
/* Signal vector `vector` of IRQ `index` (no-op without a trigger eventfd). For
 * AUTOMASKED (INTx) indexes the line masks itself until unmasked. */
void sim_irq_raise(struct sim_device *dev, unsigned index, unsigned vector);
/* Level-triggered line (INTx): re-raised after unmask while still asserted. */
void sim_irq_set_level(struct sim_device *dev, unsigned index, bool asserted);
/* Whether a trigger eventfd is set for vector. */
bool sim_irq_has_trigger(const struct sim_device *dev, unsigned index, unsigned vector);
/* IOMMU faults recorded for the device (DMA to unmapped IOVAs). */
uint64_t sim_device_iommu_faults(const struct sim_device *dev);
/* Log to stderr with the simulator's prefix. */
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A backend constructor: build device(s) from section; on error fill error. */
struct sim_backend {
	const char *kind;            /* "dsa", "dfl", "fsl-mc", "platform" */
	int (*create)(struct sim *sim, const char *name, const struct toml_table *section,
		      char *error, size_t error_len);
};

/* Backends (one per dev_*.c); the core's table lists them. */
extern const struct sim_backend sim_backend_dsa;
extern const struct sim_backend sim_backend_dfl;
extern const struct sim_backend sim_backend_fslmc;
extern const struct sim_backend sim_backend_platform;

/* ---- PCI config space helper (pci_config.c) for PCI backends ---- */

struct sim_pci_config {
	uint8_t bytes[4096];
	uint8_t writable[4096];      /* per-byte write masks */
};
/* Header type 0 with ids and class; BAR sizes go in via sim_pci_config_bar. */
void sim_pci_config_init(struct sim_pci_config *cfg, uint16_t vendor, uint16_t device,
			 uint32_t class_code, uint8_t revision);
void sim_pci_config_bar(struct sim_pci_config *cfg, unsigned index, uint64_t size, bool is64);
/* Add an MSI-X capability: table/PBA in `bar` at the given offsets. Returns its offset. */
unsigned sim_pci_config_msix(struct sim_pci_config *cfg, unsigned vectors, unsigned bar,
			     uint32_t table_offset, uint32_t pba_offset);
/* Add a capability of `len` bytes (header included) to the list. Returns
 * its offset, 0 when config space is full. */
unsigned sim_pci_config_cap(struct sim_pci_config *cfg, uint8_t id, unsigned len);
/* A minimal PCI Express endpoint capability (vfio-pci then offers the ERR IRQ). */
unsigned sim_pci_config_pcie(struct sim_pci_config *cfg);
/* COMMAND.BME (DMA allowed) and COMMAND.MEM. */
bool sim_pci_config_bus_master(const struct sim_pci_config *cfg);
/* The standard vfio-pci IRQ table: INTx (count intx ? 1 : 0), MSI 0,
 * MSI-X `vectors`, ERR 1 (PCIe), REQ 1. */
void sim_pci_irqs_init(struct sim_device *dev, bool intx, unsigned msix_vectors);
/* Config region accesses as vfio-pci does them (1, 2, 4 bytes). */
ssize_t sim_pci_config_read(const struct sim_pci_config *cfg, uint64_t offset, void *buf,
			    size_t len);
ssize_t sim_pci_config_write(struct sim_pci_config *cfg, uint64_t offset, const void *buf,
			     size_t len);

#endif
