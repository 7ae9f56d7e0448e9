/* SPDX-License-Identifier: MIT */
/*
 * The libc entry points libvfiosim.so overrides (LD_PRELOAD), and the one
 * piece of process-wide state the simulator has: the simulator itself and
 * the table of simulated fds.
 *
 * Paths: an absolute path under /sys/, /dev/vfio/ or equal to /dev/iommu
 * that exists in the fake tree under the simulator root is redirected
 * there (open, fopen, opendir, stat, readlink, realpath, access...);
 * realpath strips the root again so the caller keeps seeing /sys/....
 * /dev/iommu and /dev/vfio/devices/vfioN open as memfds that the table
 * marks as simulated (their names, "vfio-sim:...", let an exec'ed child
 * re-adopt inherited fds). /dev/vfio/G opens as the group's legacy lock
 * file (group.c), whose flock is the "group open" state; an exec'ed
 * child recognises it by its path and inode. Everything else goes straight to the real libc
 * (dlsym(RTLD_NEXT)); the cost on a non-simulated fd is one bounds check
 * and one atomic load, which matters because ioctl(KVM_RUN) and the
 * vCPUs' MMIO paths come through here.
 *
 * Not interposed (documented in README.md): relative paths, dup'ed
 * simulated fds, read/write/lseek on the cdev, statx, scandir, glob.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* x86-64: struct stat64 and struct stat are the same layout. */
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 layout");

#include "tests/vfio-sim/sim_internal.h"

enum sim_file_kind { SIM_FILE_IOMMUFD = 1, SIM_FILE_CDEV, SIM_FILE_GROUP };

struct sim_file {
	enum sim_file_kind kind;
	struct sim_iommufd *ctx;
	struct sim_cdev_file *cdev;
	int group;                   /* SIM_FILE_GROUP: G of /dev/vfio/G */
	dev_t rdev;
};

/* The process-wide state (the only one): the real libc, the simulator, its fds. */
static struct {
	pthread_once_t libc_once;
	struct sim_libc libc;
	struct sim *sim;            /* NULL: inert, everything passes through */
	_Atomic(struct sim_file *) files[SIM_MAX_FDS];
} process = { .libc_once = PTHREAD_ONCE_INIT };

#define RESOLVE(field, symbol) \
	(process.libc.field = (__typeof__(process.libc.field))dlsym(RTLD_NEXT, symbol))

static void resolve_libc(void)
{
	RESOLVE(open, "open");
	RESOLVE(openat, "openat");
	RESOLVE(close, "close");
	RESOLVE(ioctl, "ioctl");
	RESOLVE(pread, "pread");
	RESOLVE(pwrite, "pwrite");
	RESOLVE(mmap, "mmap");
	RESOLVE(fopen, "fopen");
	RESOLVE(fopen64, "fopen64");
	RESOLVE(opendir, "opendir");
	RESOLVE(readlink, "readlink");
	RESOLVE(readlinkat, "readlinkat");
	RESOLVE(realpath, "realpath");
	RESOLVE(stat, "stat");
	RESOLVE(lstat, "lstat");
	RESOLVE(fstat, "fstat");
	RESOLVE(fstatat, "fstatat");
	RESOLVE(access, "access");
	RESOLVE(faccessat, "faccessat");
}

const struct sim_libc *sim_libc(void)
{
	pthread_once(&process.libc_once, resolve_libc);
	return &process.libc;
}

static struct sim_file *file_of(int fd)
{
	if (fd < 0 || fd >= SIM_MAX_FDS)
		return NULL;
	return atomic_load_explicit(&process.files[fd], memory_order_acquire);
}

struct sim_iommufd *sim_fd_iommufd(int fd)
{
	struct sim_file *file = file_of(fd);

	return file && file->kind == SIM_FILE_IOMMUFD ? file->ctx : NULL;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* ---- simulated files ---- */

/* index: the cdev's N, the group node's G, unused for /dev/iommu. */
static int register_file(int fd, enum sim_file_kind kind, int index)
{
	struct sim *sim = process.sim;
	struct sim_file *file = calloc(1, sizeof(*file));

	if (!file)
		return -ENOMEM;
	file->kind = kind;
	if (kind == SIM_FILE_GROUP) {
		/* No state besides the flock the fd itself holds (group.c). */
		file->group = index;
		file->rdev = makedev(SIM_GROUP_MAJOR, (unsigned)index);
		atomic_store_explicit(&process.files[fd], file, memory_order_release);
		return 0;
	}
	int cdev = index;

	pthread_mutex_lock(&sim->lock);
	if (kind == SIM_FILE_IOMMUFD) {
		file->ctx = sim_iommufd_open(sim, fd);
		file->rdev = makedev(SIM_IOMMU_MAJOR, SIM_IOMMU_MINOR);
	} else {
		struct sim_device *dev = sim_device_by_cdev(sim, cdev);

		file->cdev = dev ? sim_cdev_open(sim, dev, fd) : NULL;
		file->rdev = makedev(SIM_CDEV_MAJOR, (unsigned)cdev);
	}
	pthread_mutex_unlock(&sim->lock);
	if (!file->ctx && !file->cdev) {
		free(file);
		return -ENOMEM;
	}
	atomic_store_explicit(&process.files[fd], file, memory_order_release);
	return 0;
}

/* /dev/vfio/G: the legacy lock file itself is the caller's fd. */
static int open_group_node(int group, int flags)
{
	int fd = sim_group_node_open(process.sim, group, flags);

	if (fd < 0)
		return fail(-fd);
	if (fd >= SIM_MAX_FDS) {
		process.libc.close(fd);
		return fail(EMFILE);
	}
	int rc = register_file(fd, SIM_FILE_GROUP, group);

	if (rc) {
		process.libc.close(fd);
		return fail(-rc);
	}
	return fd;
}

/* index: the cdev's N or the group's G (sim_path_node). */
static int open_node(enum sim_node node, int index, int flags)
{
	char name[64];

	if (node == SIM_NODE_GROUP)
		return open_group_node(index, flags);
	int cdev = index;


	snprintf(name, sizeof(name), node == SIM_NODE_IOMMU ? "vfio-sim:iommufd"
							      : "vfio-sim:cdev:%d", cdev);
	int fd = memfd_create(name, (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);

	if (fd < 0)
		return -1;
	if (fd >= SIM_MAX_FDS) {
		process.libc.close(fd);
		return fail(EMFILE);
	}
	int rc = register_file(fd, node == SIM_NODE_IOMMU ? SIM_FILE_IOMMUFD : SIM_FILE_CDEV, cdev);

	if (rc) {
		process.libc.close(fd);
		return fail(-rc);
	}
	return fd;
}

static void release_file(struct sim_file *file)
{
	struct sim *sim = process.sim;

	if (file->kind == SIM_FILE_GROUP) {
		free(file); /* the caller's close drops the flock (last reference) */
		return;
	}
	pthread_mutex_lock(&sim->lock);
	if (file->kind == SIM_FILE_IOMMUFD)
		sim_iommufd_close(file->ctx);
	else
		sim_cdev_close(file->cdev);
	pthread_mutex_unlock(&sim->lock);
	free(file);
}

/* fds inherited through exec: memfds we named. They come back unbound. */
static void adopt_inherited_fds(void)
{
	DIR *dir = process.libc.opendir("/proc/self/fd");
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		char link[64], target[128];
		int fd = atoi(entry->d_name), cdev, group;

		if (fd <= 2 || fd >= SIM_MAX_FDS || fd == dirfd(dir))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = process.libc.readlink(link, target, sizeof(target) - 1);

		if (n <= 0)
			continue;
		target[n] = 0;
		if (strncmp(target, "/memfd:vfio-sim:iommufd", 23) == 0)
			register_file(fd, SIM_FILE_IOMMUFD, -1);
		else if (sscanf(target, "/memfd:vfio-sim:cdev:%d", &cdev) == 1)
			register_file(fd, SIM_FILE_CDEV, cdev);
		else if (sim_group_node_fd(process.sim, fd, &group))
			register_file(fd, SIM_FILE_GROUP, group); /* still open: the flock came along */
	}
	closedir(dir);
}

__attribute__((constructor)) static void sim_process_init(void)
{
	const char *config = getenv("VMM_VFIO_SIM_CONFIG");

	sim_libc();
	if (!config || !*config)
		return;
	process.sim = sim_create(config, getenv("VMM_VFIO_SIM_ROOT"));
	if (process.sim)
		adopt_inherited_fds();
	else
		sim_log("%s: no simulated devices; every call goes to the real kernel", config);
}

/* ---- paths ---- */

/* The path to hand the real libc: `path` itself or its place in the fake tree. */
static const char *redirect(const char *path, char *buf, size_t len)
{
	if (process.sim && path && path[0] == '/' &&
	    sim_path_redirect(process.sim, path, buf, len))
		return buf;
	return path;
}

static enum sim_node node_of(const char *path, int *cdev)
{
	if (!process.sim || !path || path[0] != '/')
		return SIM_NODE_NONE;
	return sim_path_node(process.sim, path, cdev);
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode, bool at)
{
	char buf[PATH_MAX];
	int cdev;
	enum sim_node node = node_of(path, &cdev);

	sim_libc();
	if (node != SIM_NODE_NONE)
		return open_node(node, cdev, flags);
	path = redirect(path, buf, sizeof(buf));
	return at ? process.libc.openat(dirfd, path, flags, mode) : process.libc.open(path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

SIM_EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);

	va_end(ap);
	return open_common(AT_FDCWD, path, flags, mode, false);
}

SIM_EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);

	va_end(ap);
	return open_common(AT_FDCWD, path, flags, mode, false);
}

SIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);

	va_end(ap);
	return open_common(dirfd, path, flags, mode, true);
}

SIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);

	va_end(ap);
	return open_common(dirfd, path, flags, mode, true);
}

/* _FORTIFY_SOURCE variants (no O_CREAT). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

SIM_EXPORT int __open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, false);
}

SIM_EXPORT int __open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, false);
}

SIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags, 0, true);
}

SIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags, 0, true);
}

SIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.fopen(redirect(path, buf, sizeof(buf)), mode);
}

SIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.fopen64(redirect(path, buf, sizeof(buf)), mode);
}

SIM_EXPORT DIR *opendir(const char *path)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.opendir(redirect(path, buf, sizeof(buf)));
}

SIM_EXPORT ssize_t readlink(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.readlink(redirect(path, buf, sizeof(buf)), out, len);
}

SIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.readlinkat(dirfd, redirect(path, buf, sizeof(buf)), out, len);
}

/* Resolved inside the fake tree, reported as the /sys or /dev path it stands for. */
SIM_EXPORT char *realpath(const char *path, char *resolved)
{
	char buf[PATH_MAX], real[PATH_MAX];
	const char *target;

	sim_libc();
	target = redirect(path, buf, sizeof(buf));
	if (target == path)
		return process.libc.realpath(path, resolved);
	if (!process.libc.realpath(target, real))
		return NULL;
	size_t root_len = strlen(process.sim->root);
	const char *shown = real;

	if (strncmp(real, process.sim->root, root_len) == 0 && real[root_len] == '/')
		shown = real + root_len;
	if (!resolved)
		return strdup(shown);
	snprintf(resolved, PATH_MAX, "%s", shown);
	return resolved;
}

/* A simulated node looks like the character device it stands for. */
static void fake_chardev(struct stat *st, dev_t rdev)
{
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = rdev;
	st->st_size = 0;
}

static int stat_node(enum sim_node node, int cdev, struct stat *st, const char *path, bool link)
{
	char buf[PATH_MAX];
	const char *target = redirect(path, buf, sizeof(buf));
	int rc = link ? process.libc.lstat(target, st) : process.libc.stat(target, st);

	if (rc == 0)
		fake_chardev(st, node == SIM_NODE_IOMMU ? makedev(SIM_IOMMU_MAJOR, SIM_IOMMU_MINOR)
				 : node == SIM_NODE_GROUP ? makedev(SIM_GROUP_MAJOR, (unsigned)cdev)
						       : makedev(SIM_CDEV_MAJOR, (unsigned)cdev));
	return rc;
}

static int stat_common(const char *path, struct stat *st, bool link)
{
	char buf[PATH_MAX];
	int cdev;
	enum sim_node node = node_of(path, &cdev);

	sim_libc();
	if (node != SIM_NODE_NONE)
		return stat_node(node, cdev, st, path, link);
	path = redirect(path, buf, sizeof(buf));
	return link ? process.libc.lstat(path, st) : process.libc.stat(path, st);
}

SIM_EXPORT int stat(const char *path, struct stat *st)
{
	return stat_common(path, st, false);
}

SIM_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return stat_common(path, (struct stat *)st, false);
}

SIM_EXPORT int lstat(const char *path, struct stat *st)
{
	return stat_common(path, st, true);
}

SIM_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return stat_common(path, (struct stat *)st, true);
}

static int fstatat_common(int dirfd, const char *path, struct stat *st, int flags)
{
	char buf[PATH_MAX];
	int cdev;
	enum sim_node node = node_of(path, &cdev);

	sim_libc();
	if (node != SIM_NODE_NONE)
		return stat_node(node, cdev, st, path, flags & AT_SYMLINK_NOFOLLOW);
	if ((!path || !*path) && (flags & AT_EMPTY_PATH)) {
		struct sim_file *file = file_of(dirfd);
		int rc = process.libc.fstatat(dirfd, path, st, flags);

		if (rc == 0 && file)
			fake_chardev(st, file->rdev);
		return rc;
	}
	return process.libc.fstatat(dirfd, redirect(path, buf, sizeof(buf)), st, flags);
}

SIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return fstatat_common(dirfd, path, st, flags);
}

SIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat_common(dirfd, path, (struct stat *)st, flags);
}

static int fstat_common(int fd, struct stat *st)
{
	struct sim_file *file = file_of(fd);
	int rc;

	sim_libc();
	rc = process.libc.fstat(fd, st);
	if (rc == 0 && file)
		fake_chardev(st, file->rdev);
	return rc;
}

SIM_EXPORT int fstat(int fd, struct stat *st)
{
	return fstat_common(fd, st);
}

SIM_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return fstat_common(fd, (struct stat *)st);
}

SIM_EXPORT int access(const char *path, int mode)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.access(redirect(path, buf, sizeof(buf)), mode);
}

SIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	char buf[PATH_MAX];

	sim_libc();
	return process.libc.faccessat(dirfd, redirect(path, buf, sizeof(buf)), mode, flags);
}

/* ---- fd operations ---- */

SIM_EXPORT int close(int fd)
{
	struct sim_file *file = NULL;

	sim_libc();
	if (fd >= 0 && fd < SIM_MAX_FDS && atomic_load_explicit(&process.files[fd],
								  memory_order_relaxed))
		file = atomic_exchange(&process.files[fd], NULL);
	if (file)
		release_file(file);
	return process.libc.close(fd);
}

/*
 * KVM_SET_DEVICE_ATTR(KVM_DEV_VFIO_FILE, FILE_ADD/DEL) naming a simulated
 * cdev: the real KVM would refuse a memfd, and the association only
 * matters to KVM for non-coherent DMA, so it succeeds here without KVM.
 */
static bool kvm_vfio_file_attr(unsigned long request, void *arg)
{
	const struct kvm_device_attr *attr = arg;

	if (request != KVM_SET_DEVICE_ATTR || !process.sim || !attr ||
	    attr->group != KVM_DEV_VFIO_FILE ||
	    (attr->attr != KVM_DEV_VFIO_FILE_ADD && attr->attr != KVM_DEV_VFIO_FILE_DEL) ||
	    !attr->addr)
		return false;
	const struct sim_file *file = file_of(*(const int32_t *)(uintptr_t)attr->addr);

	return file && file->kind == SIM_FILE_CDEV;
}

SIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;

	va_start(ap, request);
	void *arg = va_arg(ap, void *);

	va_end(ap);
	struct sim_file *file = file_of(fd);

	if (!file) {
		if (kvm_vfio_file_attr(request, arg))
			return 0;
		sim_libc();
		return process.libc.ioctl(fd, request, arg);
	}
	int rc = file->kind == SIM_FILE_IOMMUFD ? sim_iommufd_ioctl(file->ctx, request, arg)
		 : file->kind == SIM_FILE_GROUP ? sim_group_node_ioctl(process.sim, file->group,
								       request, arg)
						: sim_cdev_ioctl(file->cdev, request, arg);

	return rc < 0 ? fail(-rc) : rc;
}

static ssize_t rw_common(int fd, void *buf, size_t len, off_t offset, bool write)
{
	struct sim_file *file = file_of(fd);

	sim_libc();
	if (!file)
		return write ? process.libc.pwrite(fd, buf, len, offset)
			     : process.libc.pread(fd, buf, len, offset);
	if (file->kind != SIM_FILE_CDEV)
		return fail(EINVAL); /* /dev/iommu and /dev/vfio/G have no read or write */
	if (offset < 0)
		return fail(EINVAL);
	ssize_t rc = sim_cdev_rw(file->cdev, buf, len, (uint64_t)offset, write);

	return rc < 0 ? fail((int)-rc) : rc;
}

SIM_EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t offset)
{
	return rw_common(fd, buf, len, offset, false);
}

SIM_EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t offset)
{
	return rw_common(fd, buf, len, offset, false);
}

SIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t offset)
{
	return rw_common(fd, (void *)(uintptr_t)buf, len, offset, true);
}

SIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t offset)
{
	return rw_common(fd, (void *)(uintptr_t)buf, len, offset, true);
}

static void *mmap_common(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	struct sim_file *file = (flags & MAP_ANONYMOUS) ? NULL : file_of(fd);
	int err = 0;

	sim_libc();
	if (!file)
		return process.libc.mmap(addr, len, prot, flags, fd, offset);
	if (file->kind != SIM_FILE_CDEV || offset < 0) {
		errno = file->kind != SIM_FILE_CDEV ? ENODEV : EINVAL;
		return MAP_FAILED;
	}
	void *map = sim_cdev_mmap(file->cdev, addr, len, prot, flags, (uint64_t)offset, &err);

	if (map == MAP_FAILED)
		errno = err;
	return map;
}

SIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	return mmap_common(addr, len, prot, flags, fd, offset);
}

SIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	return mmap_common(addr, len, prot, flags, fd, offset);
}

/* ---- test hooks (the only other exported symbols) ---- */

/* IOMMU faults a simulated device took; UINT64_MAX when no such device. */
SIM_EXPORT uint64_t vfio_sim_iommu_faults(const char *device);
SIM_EXPORT uint64_t vfio_sim_iommu_faults(const char *device)
{
	struct sim_device *dev = process.sim ? sim_device_by_name(process.sim, device) : NULL;

	return dev ? sim_device_iommu_faults(dev) : UINT64_MAX;
}

/* The simulator root in use, NULL when the simulator is inert. */
SIM_EXPORT const char *vfio_sim_root(void);
SIM_EXPORT const char *vfio_sim_root(void)
{
	return process.sim ? process.sim->root : NULL;
}
