/* SPDX-License-Identifier: MIT */
/*
 * The simulator core's private types, shared by interpose.c, core.c,
 * sysfs.c, group.c, iommufd.c, cdev.c and irq.c. Backends use sim.h only.
 *
 * Locking: sim->lock serialises every control path (open, close, the
 * iommufd ioctls, cdev BIND/ATTACH/DETACH/SET_IRQS/RESET). Region accesses
 * (pread/pwrite/mmap) and the DMA translation a backend calls per
 * descriptor take no simulator lock: the translation reads an immutable
 * snapshot of the IOAS's mappings published with release/acquire, and old
 * snapshots (and destroyed IOASes) live until their iommufd context is
 * freed, so a translation racing an UNMAP sees the old or the new table,
 * never freed memory. Interrupt raising takes the device's irq lock only.
 */
#ifndef TESTS_VFIO_SIM_SIM_INTERNAL_H
#define TESTS_VFIO_SIM_SIM_INTERNAL_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>

#include "tests/vfio-sim/sim.h"
#include "uapi/iommufd_compat.h"

#define SIM_EXPORT __attribute__((visibility("default")))

#define SIM_MAX_DEVICES    64
#define SIM_MAX_RESERVED   8
#define SIM_MAX_FDS        4096     /* simulated fds must be below this */
#define SIM_CDEV_MAJOR     240      /* "vfio-dev" (240-254: local/experimental majors) */
#define SIM_GROUP_MAJOR    241      /* "vfio": the legacy /dev/vfio/G nodes (minor G) */
#define SIM_IOMMU_MAJOR    10       /* /dev/iommu is a misc device */
#define SIM_IOMMU_MINOR    123
#define SIM_PAGE_SIZE      4096ull  /* IOVA_RANGES out_iova_alignment */
#define SIM_APERTURE_LAST  ((1ull << 48) - 1) /* 48-bit IOVA, like a 4-level VT-d table */
#define SIM_MSI_START      0xfee00000ull      /* x86 MSI window: always reserved */
#define SIM_MSI_LAST       0xfeefffffull

struct sim_range {
	uint64_t start, last;        /* inclusive */
};

/* The real libc entry points (the simulator's own I/O never re-enters its overrides). */
struct sim_libc {
	int (*open)(const char *path, int flags, ...);
	int (*openat)(int dirfd, const char *path, int flags, ...);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long request, ...);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t offset);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t offset);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
	FILE *(*fopen)(const char *path, const char *mode);
	FILE *(*fopen64)(const char *path, const char *mode);
	DIR *(*opendir)(const char *path);
	ssize_t (*readlink)(const char *path, char *buf, size_t len);
	ssize_t (*readlinkat)(int dirfd, const char *path, char *buf, size_t len);
	char *(*realpath)(const char *path, char *resolved);
	int (*stat)(const char *path, struct stat *st);
	int (*lstat)(const char *path, struct stat *st);
	int (*fstat)(int fd, struct stat *st);
	int (*fstatat)(int dirfd, const char *path, struct stat *st, int flags);
	int (*access)(const char *path, int mode);
	int (*faccessat)(int dirfd, const char *path, int mode, int flags);
};

const struct sim_libc *sim_libc(void);

/* ---- per-device core state (sim_device.core) ---- */

struct sim_ioas;
struct sim_hwpt;
struct sim_iommufd;
struct sim_cdev_file;

struct sim_irq_vector {
	int trigger;                 /* our dup of the user's eventfd, -1: none */
	bool masked;                 /* AUTOMASKED / ACTION_MASK */
	bool pending;                /* raised while masked */
	bool level;                  /* sim_irq_set_level */
	int unmask;                  /* UNMASK eventfd (INTx resample), -1: none */
};

struct sim_irq_index_state {
	struct sim_irq_vector vectors[SIM_MAX_VECTORS];
	unsigned enabled;            /* NORESIZE: vectors fixed at enable, 0: disabled */
};

struct sim_dev_core {
	struct sim *sim;
	struct sim_device *dev;
	char section[64];            /* [devices.NAME] that created it */
	int cdev;                    /* N of /dev/vfio/devices/vfioN; -1: none (host driver) */
	bool vfio_driver;            /* bound to vfio-pci/-platform/-fsl-mc */
	struct sim_range reserved[SIM_MAX_RESERVED];
	unsigned reserved_count;

	/* under sim->lock */
	struct sim_cdev_file *bound;  /* the bound cdev file, NULL: none */
	struct sim_hwpt *hwpt;        /* attached, NULL: blocked */
	unsigned opens;               /* open cdev files */

	/* DMA view: the IOAS behind hwpt (NULL: blocked); read lock-free */
	_Atomic(struct sim_ioas *) dma_ioas;
	atomic_uint_fast64_t faults;
	atomic_bool fault_logged;

	/* interrupts */
	pthread_mutex_t irq_lock;
	struct sim_irq_index_state irqs[SIM_MAX_IRQS];
	int active_index;            /* PCI: INTx, MSI and MSI-X exclude each other; -1: none */
};

static inline struct sim_dev_core *sim_core_of(const struct sim_device *dev)
{
	return dev->core;
}

/* ---- the simulator ---- */

struct sim_irq_thread {
	pthread_t thread;
	bool running;
	int epoll;                   /* UNMASK eventfds */
	int stop;                    /* eventfd ending the thread */
};

struct sim {
	char config_path[4096];
	char root[4096];             /* fake /sys and /dev live under it */
	struct toml_table *tree;     /* the parsed config */
	pthread_mutex_t lock;        /* control paths */
	struct sim_device *devices[SIM_MAX_DEVICES];
	unsigned device_count;
	unsigned cdev_count;
	int next_group;              /* auto-assigned IOMMU groups */
	unsigned next_pci_slot;
	/* while a backend's create() runs */
	const struct toml_table *section;
	const char *section_name;
	bool section_used;           /* its sysfs/group keys went to a device */
	int section_group;
	struct sim_irq_thread irq_thread;
	uint32_t next_devid;
};

/* core.c: load the config, build devices, materialise the tree. NULL on error (logged). */
struct sim *sim_create(const char *config_path, const char *root);
void sim_destroy(struct sim *sim);
struct sim_device *sim_device_by_cdev(struct sim *sim, int index);
struct sim_device *sim_device_by_name(struct sim *sim, const char *name);

/* sim_backends.c: the backend of a `kind`, NULL if unknown; the known kinds as text. */
const struct sim_backend *sim_backend_find(const char *kind);
void sim_backend_list(char *out, size_t len);

/* sysfs.c: the fake /sys and /dev under sim->root (idempotent, several processes may race). */
int sim_sysfs_build(struct sim *sim);
/* paths.c: the real path of `path` when it lies in the simulated tree. */
bool sim_path_redirect(const struct sim *sim, const char *path, char *out, size_t len);
enum sim_node { SIM_NODE_NONE, SIM_NODE_IOMMU, SIM_NODE_CDEV, SIM_NODE_GROUP };
/* *index: N of vfioN for a cdev, G for a group node. */
enum sim_node sim_path_node(const struct sim *sim, const char *path, int *index);

/* group.c: DMA ownership of an IOMMU group, one owner (iommufd context) at a time. */
int sim_group_claim(struct sim_iommufd *ctx, int group);
void sim_group_release(struct sim_iommufd *ctx, int group);
/* The legacy group path /dev/vfio/G (vfio_device_block_group). */
bool sim_group_has_node(const struct sim *sim, int group);
/* Open /dev/vfio/G: the fd the caller gets (O_CLOEXEC from flags), or
 * -EBUSY while it is open or a cdev of the group is bound (any process). */
int sim_group_node_open(const struct sim *sim, int group, int flags);
/* Whether fd (inherited across exec) is an open /dev/vfio/G; *group then. */
bool sim_group_node_fd(const struct sim *sim, int fd, int *group);
int sim_group_node_ioctl(const struct sim *sim, int group, unsigned long request, void *arg);
/* BIND's side: a lock fd to keep while bound, or -EBUSY while /dev/vfio/G is open. */
int sim_group_block(const struct sim *sim, int group);
void sim_group_unblock(int fd);

/* ---- iommufd.c ---- */

struct sim_map {
	uint64_t iova, length;
	uint8_t *va;
	uint32_t flags;
};

struct sim_snapshot {
	struct sim_snapshot *retired_next;
	size_t count;
	struct sim_map maps[];       /* sorted by iova, disjoint */
};

struct sim_ioas {
	uint32_t id;
	struct sim_ioas *dead_next;  /* destroyed, freed with the context */
	struct sim_map *maps;        /* control side copy, sorted */
	size_t map_count, map_capacity;
	struct sim_range *allowed;   /* ALLOW_IOVAS */
	size_t allowed_count;
	_Atomic(struct sim_snapshot *) snapshot;
	unsigned hwpts;              /* HWPTs built on it */
	unsigned attached;           /* devices attached through them */
	struct sim_hwpt *auto_hwpt;  /* made by ATTACH(pt_id = ioas) */
	bool huge_pages;
};

struct sim_hwpt {
	uint32_t id;
	struct sim_ioas *ioas;
	unsigned attached;
	bool automatic;
};

enum sim_object_type { SIM_OBJ_IOAS, SIM_OBJ_HWPT, SIM_OBJ_DEVICE };

struct sim_object {
	uint32_t id;
	enum sim_object_type type;
	void *ptr;
};

struct sim_group_claim {
	int group;
	int lock_fd;
	unsigned users;
};

struct sim_iommufd {
	struct sim *sim;
	int fd;
	pid_t pid;                   /* the process that opened it (locks belong to it) */
	unsigned refs;               /* the fd + bound devices */
	struct sim_object *objects;
	size_t object_count, object_capacity;
	uint32_t next_id;
	struct sim_group_claim claims[SIM_MAX_DEVICES];
	unsigned claim_count;
	struct sim_snapshot *retired;
	struct sim_ioas *dead;
	bool rlimit_per_process;
};

struct sim_iommufd *sim_iommufd_open(struct sim *sim, int fd);
/* The fd closed; freed when no bound device refers to it any more. */
void sim_iommufd_close(struct sim_iommufd *ctx);
void sim_iommufd_put(struct sim_iommufd *ctx);
int sim_iommufd_ioctl(struct sim_iommufd *ctx, unsigned long request, void *arg);
/* A device object for BIND; returns its id or 0 on ENOMEM. */
uint32_t sim_iommufd_add_device(struct sim_iommufd *ctx, struct sim_device *dev);
void sim_iommufd_remove_device(struct sim_iommufd *ctx, uint32_t id);
/* ATTACH / DETACH for a bound device (sim->lock held). 0 or -errno. */
int sim_iommufd_attach(struct sim_iommufd *ctx, struct sim_device *dev, uint32_t *pt_id);
void sim_iommufd_detach(struct sim_iommufd *ctx, struct sim_device *dev);
/* guest_memory.translate of every device. */
void *sim_dma_translate(const struct guest_memory *mem, uint64_t addr, uint64_t len);

/* struct-size rules of every iommufd command (copy_struct_from_user). */
int sim_copy_struct(void *dst, size_t kernel_size, const void *user, uint32_t user_size,
		    size_t min_size);

/* ---- cdev.c ---- */

struct sim_cdev_file {
	struct sim_device *dev;
	int fd;
	struct sim_iommufd *ctx;     /* bound context, NULL: unbound */
	uint32_t devid;
	int block_fd;                /* while bound: the group's legacy path blocked (group.c), else -1 */
	atomic_bool bound;           /* read lock-free by region accesses */
};

struct sim_cdev_file *sim_cdev_open(struct sim *sim, struct sim_device *dev, int fd);
void sim_cdev_close(struct sim_cdev_file *file);
int sim_cdev_ioctl(struct sim_cdev_file *file, unsigned long request, void *arg);
ssize_t sim_cdev_rw(struct sim_cdev_file *file, void *buf, size_t len, uint64_t offset,
		    bool write);
void *sim_cdev_mmap(struct sim_cdev_file *file, void *addr, size_t len, int prot, int flags,
		    uint64_t offset, int *err);

/* ---- irq.c ---- */

void sim_irq_init(struct sim_device *dev);
int sim_irq_set(struct sim_device *dev, void *arg);
/* Every trigger and unmask fd dropped (close/release). */
void sim_irq_release(struct sim_device *dev);
void sim_irq_thread_stop(struct sim *sim);

/* ---- interpose.c ---- */

/* The iommufd context behind an fd, NULL when fd is not an open /dev/iommu. */
struct sim_iommufd *sim_fd_iommufd(int fd);

#endif
