/* SPDX-License-Identifier: MIT */
/*
 * The simulator's own kernel rules, checked through the uAPI exactly as
 * the VMM would meet them: this program is linked against nothing of the
 * simulator and runs with LD_PRELOAD=libvfiosim.so and
 * VMM_VFIO_SIM_CONFIG=tests/vfio-sim/configs/rules.toml (make
 * check-vfio-sim). Each test runs in its own process (CK_FORK), so a test
 * starts with no fd open and no group owned.
 *
 * Devices (rules.toml): vfio0 = dsa0 (group 10, trapped portals, reserved
 * 0x10000000-0x1000ffff, 4 MSI-X vectors), vfio1 = dsa1 (group 11, whose
 * other member dsa2 is on the host driver idxd), vfio2 = dsa3 (group 12,
 * polled portals, 3 WQs), vfio3/vfio4 = dsa4/dsa5 (both group 13), vfio5 =
 * fpga0 (a DFL card, group 14).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/dsa/core.h"
#include "dfl_regs.h"
#include "uapi/vfio_compat.h"

#define DSA0 0
#define DSA1 1
#define DSA3 2
#define DSA4 3
#define DSA5 4
#define FPGA0 5
#define REGION(i) ((uint64_t)(i) << VMM_VFIO_REGION_SHIFT)

/* The simulator's test hook (libvfiosim.so exports it). */
uint64_t vfio_sim_iommu_faults(const char *device) __attribute__((weak));

/* ---- helpers ---- */

static int open_cdev(int n)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
	int fd = open(path, O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s (is libvfiosim.so preloaded?)", path, strerror(errno));
	return fd;
}

static int open_iommufd(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open /dev/iommu: %s", strerror(errno));
	return fd;
}

/* 0 or the errno of a failed call. */
static int err_of(int rc)
{
	return rc < 0 ? errno : 0;
}

static int bind_dev(int dev, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	int rc = err_of(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind));

	if (devid)
		*devid = bind.out_devid;
	return rc;
}

static uint32_t ioas_alloc(int iommufd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)), 0);
	ck_assert_uint_ne(alloc.out_ioas_id, 0);
	return alloc.out_ioas_id;
}

static int attach(int dev, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = *pt_id };
	int rc = err_of(ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at));

	*pt_id = at.pt_id;
	return rc;
}

static int detach(int dev)
{
	struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };

	return err_of(ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d));
}

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static int map_at(int iommufd, uint32_t ioas, uint32_t flags, void *va, uint64_t len,
		  uint64_t *iova)
{
	struct iommu_ioas_map map = { .size = sizeof(map), .flags = flags, .ioas_id = ioas,
				      .user_va = (uintptr_t)va, .length = len, .iova = *iova };
	int rc = err_of(ioctl(iommufd, IOMMU_IOAS_MAP, &map));

	*iova = map.iova;
	return rc;
}

static int map_fixed(int iommufd, uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	return map_at(iommufd, ioas, RW | IOMMU_IOAS_MAP_FIXED_IOVA, va, len, &iova);
}

static int unmap(int iommufd, uint32_t ioas, uint64_t iova, uint64_t *length)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
				      .length = *length };
	int rc = err_of(ioctl(iommufd, IOMMU_IOAS_UNMAP, &u));

	*length = u.length;
	return rc;
}

static int destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return err_of(ioctl(iommufd, IOMMU_DESTROY, &d));
}

static void *buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* A bound device attached to a fresh IOAS. */
struct bound {
	int dev, iommufd;
	uint32_t devid, ioas, hwpt;
};

static struct bound bind_attached(int cdev)
{
	struct bound b = { .dev = open_cdev(cdev), .iommufd = open_iommufd() };

	ck_assert_int_eq(bind_dev(b.dev, b.iommufd, &b.devid), 0);
	b.ioas = ioas_alloc(b.iommufd);
	b.hwpt = b.ioas;
	ck_assert_int_eq(attach(b.dev, &b.hwpt), 0);
	ck_assert_uint_ne(b.hwpt, b.ioas);
	return b;
}

static char *read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);

	ck_assert_int_ge(n, 0);
	buf[n] = 0;
	close(fd);
	return buf;
}

/* ---- sysfs ---- */

START_TEST(sysfs_layout)
{
	char buf[256];
	struct stat st;
	DIR *dir;
	struct dirent *e;
	unsigned members = 0, cdevs = 0;

	ssize_t n = readlink("/sys/bus/pci/devices/0000:6a:01.0/iommu_group", buf, sizeof(buf) - 1);

	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_str_eq(strrchr(buf, '/'), "/10");
	ck_assert_str_eq(read_text("/sys/bus/pci/devices/0000:6a:01.0/vfio-dev/vfio0/dev", buf,
				   sizeof(buf)), "240:0\n");
	ck_assert_str_eq(read_text("/sys/bus/pci/devices/0000:6a:01.0/vendor", buf, sizeof(buf)),
			 "0x8086\n");
	ck_assert_str_eq(read_text("/sys/bus/pci/devices/0000:6a:01.0/device", buf, sizeof(buf)),
			 "0x0b25\n");
	ck_assert_ptr_nonnull((dir = opendir("/sys/bus/pci/devices/0000:6a:01.0/vfio-dev")));
	while ((e = readdir(dir)))
		cdevs += strncmp(e->d_name, "vfio", 4) == 0;
	closedir(dir);
	ck_assert_uint_eq(cdevs, 1);
	ck_assert_ptr_nonnull((dir = opendir("/sys/kernel/iommu_groups/11/devices")));
	while ((e = readdir(dir)))
		members += e->d_name[0] != '.';
	closedir(dir);
	ck_assert_uint_eq(members, 2);
	/* The host-driver member has no VFIO cdev, and says which driver it has. */
	ck_assert_int_ne(access("/sys/bus/pci/devices/0000:6b:02.0/vfio-dev", F_OK), 0);
	n = readlink("/sys/bus/pci/devices/0000:6b:02.0/driver", buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_str_eq(strrchr(buf, '/'), "/idxd");
	ck_assert_int_eq(stat("/dev/vfio/devices/vfio0", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), 240);
	ck_assert_uint_eq(minor(st.st_rdev), 0);
	ck_assert_ptr_nonnull(realpath("/sys/bus/pci/devices/0000:6a:01.0", buf));
	ck_assert_str_eq(buf, "/sys/devices/pci0000:00/0000:6a:01.0");
	/* Only configured cdevs exist. */
	ck_assert_int_lt(open("/dev/vfio/devices/vfio6", O_RDWR), 0);
	/* The legacy group node: the "vfio" major, minor = group number. */
	ck_assert_int_eq(stat("/dev/vfio/13", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), 241);
	ck_assert_uint_eq(minor(st.st_rdev), 13);
	/* Only groups with a VFIO-bound member have one. */
	ck_assert_int_lt(open("/dev/vfio/99", O_RDWR), 0);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- ownership ---- */

START_TEST(group_two_contexts_one_process)
{
	int a = open_iommufd(), b = open_iommufd();
	int d4 = open_cdev(DSA4), d5 = open_cdev(DSA5);

	ck_assert_int_eq(bind_dev(d4, a, NULL), 0);
	ck_assert_int_eq(bind_dev(d5, b, NULL), EPERM);    /* another context owns group 13 */
	ck_assert_int_eq(bind_dev(d5, a, NULL), 0);        /* the same context shares it */
	close(d4);
	close(d5);
	ck_assert_int_eq(bind_dev(d5 = open_cdev(DSA5), b, NULL), 0); /* released with the fds */
	close(d5);
	close(a);
	close(b);
}
END_TEST

START_TEST(group_two_processes)
{
	int to_child[2], to_parent[2];
	char byte;

	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(to_parent), 0);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int iommufd = open("/dev/iommu", O_RDWR), dev = open("/dev/vfio/devices/vfio3", O_RDWR);
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };

		byte = ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0 ? 'y' : 'n';
		if (write(to_parent[1], &byte, 1) != 1 || read(to_child[0], &byte, 1) != 1)
			_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(read(to_parent[0], &byte, 1), 1);
	ck_assert_int_eq(byte, 'y');
	int iommufd = open_iommufd(), dev = open_cdev(DSA5);

	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), EPERM); /* the child owns group 13 */
	ck_assert_int_eq(write(to_child[1], "x", 1), 1);
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), 0);     /* it exited: free again */
	close(dev);
	close(iommufd);
}
END_TEST

START_TEST(group_member_on_host_driver)
{
	int iommufd = open_iommufd(), dev = open_cdev(DSA1);

	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), EPERM);
	/* Still unbound: other ioctls keep failing. */
	struct vfio_device_info info = { .argsz = sizeof(info) };

	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_GET_INFO, &info)), EINVAL);
	close(dev);
	close(iommufd);
}
END_TEST

/* ---- the legacy group path (/dev/vfio/G) against BIND ---- */

static int open_group(int group)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return open(path, O_RDWR | O_CLOEXEC);
}

static uint32_t group_status(int fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	ck_assert_int_eq(err_of(ioctl(fd, VFIO_GROUP_GET_STATUS, &status)), 0);
	return status.flags;
}

START_TEST(legacy_group_open_blocks_bind)
{
	int group = open_group(13), iommufd = open_iommufd(), d4 = open_cdev(DSA4);
	struct stat st;

	ck_assert_int_ge(group, 0);
	ck_assert_int_eq(fstat(group, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(st.st_rdev, makedev(241, 13));
	ck_assert_uint_eq(group_status(group), VFIO_GROUP_FLAGS_VIABLE);
	/* The container API is not modelled. */
	ck_assert_int_eq(err_of(ioctl(group, VFIO_GROUP_UNSET_CONTAINER)), ENOTTY);
	ck_assert_int_eq(open_group(13), -1);              /* one open at a time */
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_eq(bind_dev(d4, iommufd, NULL), EBUSY);
	/* Checked first, as vfio_device_block_group is: before the iommufd. */
	ck_assert_int_eq(bind_dev(d4, 999, NULL), EBUSY);
	/* Another group is not affected. */
	int d0 = open_cdev(DSA0);

	ck_assert_int_eq(bind_dev(d0, iommufd, NULL), 0);
	close(d0);
	/* The refused BIND left nothing behind: still unbound. */
	struct vfio_device_info info = { .argsz = sizeof(info) };

	ck_assert_int_eq(err_of(ioctl(d4, VFIO_DEVICE_GET_INFO, &info)), EINVAL);
	close(group);
	ck_assert_int_eq(bind_dev(d4, iommufd, NULL), 0);  /* closing released it */
	close(d4);
	close(iommufd);
}
END_TEST

START_TEST(bind_blocks_legacy_group_open)
{
	int iommufd = open_iommufd(), d4 = open_cdev(DSA4), d5 = open_cdev(DSA5), group;

	ck_assert_int_eq(bind_dev(d4, iommufd, NULL), 0);
	ck_assert_int_eq(open_group(13), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_eq(bind_dev(d5, iommufd, NULL), 0);  /* binds share the block */
	close(d4);
	ck_assert_int_eq(open_group(13), -1);              /* d5 still bound */
	ck_assert_int_eq(errno, EBUSY);
	close(d5);
	ck_assert_int_ge((group = open_group(13)), 0);     /* the last unbind released it */
	close(group);
	/* A refused BIND does not keep the group blocked. */
	int d1 = open_cdev(DSA1);

	ck_assert_int_eq(bind_dev(d1, iommufd, NULL), EPERM); /* dsa2 is on idxd */
	ck_assert_int_ge((group = open_group(11)), 0);
	ck_assert_uint_eq(group_status(group), 0);         /* not viable: host driver member */
	close(group);
	close(d1);
	close(iommufd);
}
END_TEST

/* The child holds /dev/vfio/13 open or dsa4 bound ('o' / 'b') until told to exit. */
static pid_t group_child(char what, int to_child[2], int to_parent[2])
{
	char byte;

	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(to_parent), 0);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ok;

		if (what == 'o') {
			ok = open_group(13) >= 0;
		} else {
			int iommufd = open("/dev/iommu", O_RDWR), dev = open("/dev/vfio/devices/vfio3", O_RDWR);
			struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };

			ok = ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0;
		}
		byte = ok ? 'y' : 'n';
		if (write(to_parent[1], &byte, 1) != 1 || read(to_child[0], &byte, 1) != 1)
			_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(read(to_parent[0], &byte, 1), 1);
	ck_assert_int_eq(byte, 'y');
	return pid;
}

static void end_group_child(pid_t pid, int to_child[2], int to_parent[2])
{
	int status;

	ck_assert_int_eq(write(to_child[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 2; i++) {
		close(to_child[i]);
		close(to_parent[i]);
	}
}

START_TEST(legacy_group_two_processes)
{
	int to_child[2], to_parent[2], group;
	int iommufd = open_iommufd(), dev = open_cdev(DSA5);

	/* The child has /dev/vfio/13 open: the parent's BIND is refused. */
	pid_t pid = group_child('o', to_child, to_parent);

	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), EBUSY);
	end_group_child(pid, to_child, to_parent);
	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), 0);  /* it exited: free again */
	close(dev);
	/* The child has dsa4 bound: the parent cannot open /dev/vfio/13. */
	pid = group_child('b', to_child, to_parent);
	ck_assert_int_eq(open_group(13), -1);
	ck_assert_int_eq(errno, EBUSY);
	end_group_child(pid, to_child, to_parent);
	ck_assert_int_ge((group = open_group(13)), 0);
	close(group);
	close(iommufd);
}
END_TEST

/* ---- bind ---- */

START_TEST(before_bind_everything_fails)
{
	int dev = open_cdev(DSA0), iommufd = open_iommufd();
	uint32_t pt = ioas_alloc(iommufd);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info region = { .argsz = sizeof(region) };
	struct vfio_irq_set set = { .argsz = sizeof(set), .index = VFIO_PCI_MSIX_IRQ_INDEX,
				    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER };
	uint32_t v;

	ck_assert_int_eq(attach(dev, &pt), EINVAL);
	ck_assert_int_eq(detach(dev), EINVAL);
	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_GET_INFO, &info)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &region)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_SET_IRQS, &set)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_RESET)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(dev, _IO(VFIO_TYPE, VFIO_BASE + 50))), EINVAL);
	ck_assert_int_eq(pread(dev, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pwrite(dev, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX)), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(dev);
	dev = open_cdev(DSA3);
	ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ, MAP_SHARED, dev, (off_t)REGION(2)), MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
	close(dev);
	close(iommufd);
}
END_TEST

START_TEST(bind_arguments)
{
	int dev = open_cdev(DSA0), iommufd = open_iommufd(), pipefd[2];
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };

	bind.argsz = 15;
	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)), EINVAL);
	bind.argsz = sizeof(bind);
	bind.flags = 1;
	ck_assert_int_eq(err_of(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)), EINVAL);
	bind.flags = 0;
	ck_assert_int_eq(bind_dev(dev, -1, NULL), EINVAL);
	ck_assert_int_eq(bind_dev(dev, 1000, NULL), EBADF);   /* not an open fd */
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(bind_dev(dev, pipefd[0], NULL), EBADFD); /* not /dev/iommu */
	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), 0);
	ck_assert_int_eq(bind_dev(dev, iommufd, NULL), EINVAL); /* bound twice */
	int again = open_cdev(DSA0);

	ck_assert_int_eq(bind_dev(again, iommufd, NULL), EINVAL); /* another fd is bound */
	close(again);
	close(dev);
	close(iommufd);
}
END_TEST

/* ---- iommufd ---- */

START_TEST(iova_ranges_and_reserved)
{
	struct bound b = bind_attached(DSA0);
	struct iommu_iova_range r[8];
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = b.ioas };

	/* Ask with no room: EMSGSIZE and the count. */
	ck_assert_int_eq(err_of(ioctl(b.iommufd, IOMMU_IOAS_IOVA_RANGES, &q)), EMSGSIZE);
	ck_assert_uint_eq(q.num_iovas, 3);
	q.allowed_iovas = (uintptr_t)r;
	ck_assert_int_eq(err_of(ioctl(b.iommufd, IOMMU_IOAS_IOVA_RANGES, &q)), 0);
	ck_assert_uint_eq(q.out_iova_alignment, 4096);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].last, 0x0fffffff);         /* the device's reserved range */
	ck_assert_uint_eq(r[1].start, 0x10010000);
	ck_assert_uint_eq(r[1].last, 0xfedfffff);         /* the MSI window */
	ck_assert_uint_eq(r[2].start, 0xfef00000);
	ck_assert_uint_eq(r[2].last, (1ull << 48) - 1);   /* the aperture */
	/* Without the device the reserved range goes away. */
	ck_assert_int_eq(detach(b.dev), 0);
	ck_assert_int_eq(err_of(ioctl(b.iommufd, IOMMU_IOAS_IOVA_RANGES, &q)), 0);
	ck_assert_uint_eq(q.num_iovas, 2);
	q.__reserved = 1;
	ck_assert_int_eq(err_of(ioctl(b.iommufd, IOMMU_IOAS_IOVA_RANGES, &q)), EOPNOTSUPP);
}
END_TEST

START_TEST(map_rules)
{
	struct bound b = bind_attached(DSA0);
	uint8_t *mem = buffer(0x10000);
	uint64_t iova;

	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 1ull << 48), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0xfee00000), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0xfedff000), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0x10000000), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0x100800), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x1800, 0x100000), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem + 8, 0x1000, 0x100000), EINVAL);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0, 0x100000), EINVAL);
	iova = 0x100000;
	ck_assert_int_eq(map_at(b.iommufd, b.ioas, IOMMU_IOAS_MAP_FIXED_IOVA, mem, 0x1000, &iova),
			 EINVAL);                                 /* neither readable nor writeable */
	ck_assert_int_eq(map_at(b.iommufd, b.ioas, RW | IOMMU_IOAS_MAP_FIXED_IOVA | 8, mem, 0x1000,
				&iova), EOPNOTSUPP);
	iova = UINT64_MAX;
	ck_assert_int_eq(map_at(b.iommufd, b.ioas, RW | IOMMU_IOAS_MAP_FIXED_IOVA, mem, 0x1000,
				&iova), EOVERFLOW);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x2000, UINT64_MAX - 0xfff), EOVERFLOW);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas + 100, mem, 0x1000, 0x100000), ENOENT);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, (void *)0x1000, 0x1000, 0x100000), EFAULT);
	/* A good one, then overlaps. */
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0x100000), 0);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x1000, 0x103000), EEXIST);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0x0fe000), EEXIST);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x1000, 0x104000), 0);
	/* Kernel-chosen IOVAs avoid mappings and reserved ranges. */
	iova = 0;
	ck_assert_int_eq(map_at(b.iommufd, b.ioas, RW, mem, 0x10000, &iova), 0);
	ck_assert_uint_eq(iova % 4096, 0);
	ck_assert(iova + 0x10000 <= 0x100000 || iova >= 0x105000);
	ck_assert(iova + 0x10000 <= 0x10000000 || iova > 0x1000ffff);
	ck_assert_uint_ne(iova, 0);
}
END_TEST

START_TEST(unmap_rules)
{
	struct bound b = bind_attached(DSA0);
	uint8_t *mem = buffer(0x10000);
	uint64_t len;

	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x2000, 0x100000), 0);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x2000, 0x102000), 0);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x1000, 0x200000), 0);
	len = 0x1000;                   /* half of the first mapping: never split */
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0x100000, &len), ENOENT);
	len = 0x3000;                   /* the first and half the second */
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0x100000, &len), ENOENT);
	len = 0x1000;                   /* nothing there */
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0x300000, &len), ENOENT);
	len = 0;
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0x300000, &len), EINVAL);
	len = 0x2000;                   /* the second, whole (the first went above) */
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0x102000, &len), 0);
	ck_assert_uint_eq(len, 0x2000);
	/* The first mapping was unmapped by the failed call that covered it whole. */
	len = 0x2000;
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0x100000, &len), ENOENT);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x2000, 0x100000), 0);
	len = UINT64_MAX;               /* everything */
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0, &len), 0);
	ck_assert_uint_eq(len, 0x3000);
	len = UINT64_MAX;               /* everything, of nothing: still fine */
	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0, &len), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(destroy_rules)
{
	struct bound b = bind_attached(DSA0);

	ck_assert_int_eq(destroy(b.iommufd, b.ioas), EBUSY);   /* attached */
	ck_assert_int_eq(destroy(b.iommufd, b.hwpt), EBUSY);
	ck_assert_int_eq(destroy(b.iommufd, b.devid), EBUSY);  /* owned by the cdev */
	ck_assert_int_eq(destroy(b.iommufd, 999), ENOENT);
	ck_assert_int_eq(detach(b.dev), 0);
	ck_assert_int_eq(destroy(b.iommufd, b.hwpt), ENOENT);  /* the auto HWPT went with it */
	/* A HWPT of our own keeps its IOAS busy until destroyed. */
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = b.devid, .pt_id = b.ioas };

	ck_assert_int_eq(err_of(ioctl(b.iommufd, IOMMU_HWPT_ALLOC, &h)), 0);
	uint32_t pt = h.out_hwpt_id;

	ck_assert_int_eq(attach(b.dev, &pt), 0);
	ck_assert_uint_eq(pt, h.out_hwpt_id);
	ck_assert_int_eq(destroy(b.iommufd, h.out_hwpt_id), EBUSY);
	ck_assert_int_eq(detach(b.dev), 0);
	ck_assert_int_eq(destroy(b.iommufd, b.ioas), EBUSY);
	ck_assert_int_eq(destroy(b.iommufd, h.out_hwpt_id), 0);
	ck_assert_int_eq(destroy(b.iommufd, b.ioas), 0);
	ck_assert_int_eq(destroy(b.iommufd, b.ioas), ENOENT);
}
END_TEST

START_TEST(struct_size_rules)
{
	int iommufd = open_iommufd();
	struct { struct iommu_ioas_alloc a; uint32_t tail[4]; } big = { .a = { .size = sizeof(big) } };
	struct iommu_ioas_alloc alloc = { .size = 11 };
	struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_GET };

	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_IOAS_ALLOC, &big)), 0); /* zero tail: fine */
	ck_assert_uint_ne(big.a.out_ioas_id, 0);
	big.tail[3] = 1;
	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_IOAS_ALLOC, &big)), E2BIG);
	alloc = (struct iommu_ioas_alloc){ .size = sizeof(alloc), .flags = 1 };
	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc)), EOPNOTSUPP);
	ck_assert_int_eq(err_of(ioctl(iommufd, _IO(IOMMUFD_TYPE, 0xa0), &alloc)), ENOTTY);
	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_OPTION, &opt)), 0);
	opt.op = IOMMU_OPTION_OP_SET;
	opt.val64 = 2;
	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_OPTION, &opt)), EINVAL);
	opt.option_id = 77;
	ck_assert_int_eq(err_of(ioctl(iommufd, IOMMU_OPTION, &opt)), EOPNOTSUPP);
	/* cdev: argsz below the fixed part, and unknown ioctls once bound. */
	struct bound b = bind_attached(DSA0);
	struct vfio_device_info info = { .argsz = 15 };
	struct vfio_region_info region = { .argsz = 31 };
	struct vfio_irq_info irq = { .argsz = 15 };
	struct vfio_device_attach_iommufd_pt at = { .argsz = 11, .pt_id = b.ioas };

	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_INFO, &info)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_REGION_INFO, &region)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_IRQ_INFO, &irq)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)), EINVAL);
	ck_assert_int_eq(err_of(ioctl(b.dev, _IO(VFIO_TYPE, VFIO_BASE + 50), &info)), ENOTTY);
	info.argsz = 16;                /* the pre-cap_offset size still works */
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_INFO, &info)), 0);
	ck_assert_uint_eq(info.num_regions, VFIO_PCI_NUM_REGIONS);
	ck_assert_uint_eq(info.num_irqs, VFIO_PCI_NUM_IRQS);
	ck_assert(info.flags & VFIO_DEVICE_FLAGS_PCI);
	ck_assert(info.flags & VFIO_DEVICE_FLAGS_RESET);
	close(iommufd);
}
END_TEST

/* ---- regions ---- */

START_TEST(region_offsets_and_access)
{
	struct bound b = bind_attached(DSA0);
	struct vfio_region_info r = { .argsz = sizeof(r) };
	uint32_t v = 0;

	for (unsigned i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		r = (struct vfio_region_info){ .argsz = sizeof(r), .index = i };
		ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_REGION_INFO, &r)), 0);
		ck_assert_uint_eq(r.offset, REGION(i));
	}
	r.index = VFIO_PCI_NUM_REGIONS;
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_REGION_INFO, &r)), EINVAL);
	ck_assert_int_eq(pread(b.dev, &v, 4, REGION(VFIO_PCI_CONFIG_REGION_INDEX)), 4);
	ck_assert_uint_eq(v, 0x0b258086);
	ck_assert_int_eq(pread(b.dev, &v, 4, REGION(0) + DSA_REG_VERSION), 4);
	ck_assert_uint_eq(v, DSA_VERSION_VALUE);
	/* Outside every region: past BAR0, an absent BAR, past the last index. */
	ck_assert_int_eq(pread(b.dev, &v, 4, REGION(0) + DSA_BAR0_SIZE), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pread(b.dev, &v, 4, REGION(4)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pread(b.dev, &v, 4, REGION(VFIO_PCI_NUM_REGIONS)), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* An access running past the end is shortened. */
	ck_assert_int_eq(pread(b.dev, &v, 4, REGION(0) + DSA_BAR0_SIZE - 2), 2);
	/* BAR0 is trapped: not mmappable. */
	ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ, MAP_SHARED, b.dev, (off_t)REGION(0)),
			 MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(region_sparse_mmap)
{
	struct bound b = bind_attached(DSA3);
	uint8_t buf[128] = { 0 };
	struct vfio_region_info *r = (void *)buf;

	/* Too small for the capability chain: success, CAPS, argsz raised, no cap_offset. */
	*r = (struct vfio_region_info){ .argsz = sizeof(*r), .index = 2 };
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_REGION_INFO, r)), 0);
	ck_assert(r->flags & VFIO_REGION_INFO_FLAG_CAPS);
	ck_assert(r->flags & VFIO_REGION_INFO_FLAG_MMAP);
	ck_assert_uint_eq(r->argsz, sizeof(*r) + 16 + 16);
	ck_assert_uint_eq(r->cap_offset, 0);
	ck_assert_uint_eq(r->size, 0x10000);
	/* Again with room. */
	r->argsz = sizeof(buf);
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_REGION_INFO, r)), 0);
	ck_assert_uint_eq(r->cap_offset, sizeof(*r));
	const struct vfio_region_info_cap_sparse_mmap *cap = (void *)(buf + r->cap_offset);

	ck_assert_uint_eq(cap->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	ck_assert_uint_eq(cap->header.next, 0);
	ck_assert_uint_eq(cap->nr_areas, 1);
	ck_assert_uint_eq(cap->areas[0].offset, 0);
	ck_assert_uint_eq(cap->areas[0].size, 3 * DSA_WQ_PORTAL_STRIDE);
	/* mmap: MAP_SHARED inside the area only. */
	ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, b.dev,
			      (off_t)REGION(2)), MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ, MAP_SHARED, b.dev,
			      (off_t)(REGION(2) + 3 * DSA_WQ_PORTAL_STRIDE)), MAP_FAILED);
	ck_assert_int_eq(errno, EINVAL);
	uint8_t *portal = mmap(NULL, DSA_WQ_PORTAL_STRIDE, PROT_READ | PROT_WRITE, MAP_SHARED, b.dev,
			       (off_t)REGION(2));

	ck_assert_ptr_ne(portal, MAP_FAILED);
	ck_assert_uint_eq(portal[0], 0xff);                 /* an empty portal slot */
	munmap(portal, DSA_WQ_PORTAL_STRIDE);
}
END_TEST

/* ---- interrupts ---- */

static int set_irqs(int dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		    const int32_t *fds, uint32_t argsz)
{
	uint8_t buf[sizeof(struct vfio_irq_set) + 16 * sizeof(int32_t)] = { 0 };
	struct vfio_irq_set *set = (void *)buf;

	*set = (struct vfio_irq_set){ .argsz = argsz, .flags = flags, .index = index,
				      .start = start, .count = count };
	if (fds)
		memcpy(set->data, fds, count * sizeof(*fds));
	return err_of(ioctl(dev, VFIO_DEVICE_SET_IRQS, set));
}

#define EVENTFD_TRIGGER (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define NONE_TRIGGER (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX

static uint64_t eventfd_count(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t count = 0;

	if (poll(&p, 1, 0) == 1)
		ck_assert_int_eq(read(fd, &count, sizeof(count)), sizeof(count));
	return count;
}

START_TEST(set_irqs_validation)
{
	struct bound b = bind_attached(DSA0);
	int32_t fds[4] = { eventfd(0, 0), eventfd(0, 0), -1, -1 };
	const uint32_t full = sizeof(struct vfio_irq_set) + 2 * sizeof(int32_t);
	int pipefd[2];
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = MSIX };

	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_IRQ_INFO, &info)), 0);
	ck_assert_uint_eq(info.count, 4);
	ck_assert_uint_eq(info.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	info.index = VFIO_PCI_INTX_IRQ_INDEX;
	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_GET_IRQ_INFO, &info)), 0);
	ck_assert_uint_eq(info.count, 0);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 0, 2, fds, 19), EINVAL);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, VFIO_PCI_NUM_IRQS, 0, 1, fds, full), EINVAL);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 4, 1, fds, full), EINVAL);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 3, 2, fds, full), EINVAL);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds, full),
			 EINVAL);                                /* INTx has no vector */
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER | VFIO_IRQ_SET_DATA_BOOL, MSIX, 0, 2, fds,
				  full), EINVAL);                /* two DATA types */
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 0, 2, fds, 24), EINVAL); /* short */
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER | 1u << 6, MSIX, 0, 2, fds, full), EINVAL);
	ck_assert_int_eq(set_irqs(b.dev, VFIO_IRQ_SET_DATA_EVENTFD, MSIX, 0, 2, fds, full), ENOTTY);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER | VFIO_IRQ_SET_ACTION_MASK, MSIX, 0, 2, fds,
				  full), ENOTTY);                /* two actions */
	ck_assert_int_eq(set_irqs(b.dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, MSIX, 0,
				  1, NULL, 20), ENOTTY);         /* MSI-X is not maskable */
	ck_assert_int_eq(set_irqs(b.dev, NONE_TRIGGER, MSIX, 0, 0, NULL, 20), EINVAL); /* not on */
	/* Bad fds change nothing. */
	ck_assert_int_eq(pipe(pipefd), 0);
	int32_t bad[2] = { fds[0], pipefd[0] };

	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 0, 2, bad, full), EINVAL);
	bad[1] = 1000;
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 0, 2, bad, full), EBADF);
	bad[1] = -2;
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 0, 2, bad, full), EINVAL);
	/* Enable vectors 0-1; the count is now fixed (NORESIZE). */
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 0, 2, fds, full), 0);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 2, 1, &fds[2], full), EINVAL);
	ck_assert_int_eq(set_irqs(b.dev, EVENTFD_TRIGGER, MSIX, 1, 1, &fds[2], full), 0); /* de-assign */
	/* Loopback: DATA_NONE fires every vector of the range that has an eventfd. */
	ck_assert_int_eq(set_irqs(b.dev, NONE_TRIGGER, MSIX, 0, 2, NULL, 20), 0);
	ck_assert_uint_eq(eventfd_count(fds[0]), 1);
	ck_assert_uint_eq(eventfd_count(fds[1]), 0);
	/* The caller's fd may close: the simulator holds its own reference. */
	close(fds[0]);
	ck_assert_int_eq(set_irqs(b.dev, NONE_TRIGGER, MSIX, 0, 0, NULL, 20), 0); /* disable */
	ck_assert_int_eq(set_irqs(b.dev, NONE_TRIGGER, MSIX, 0, 1, NULL, 20), EINVAL);
}
END_TEST

/* ---- DMA through the IOMMU ---- */

static void bar0_write32(int dev, uint64_t off, uint32_t v)
{
	ck_assert_int_eq(pwrite(dev, &v, 4, (off_t)(REGION(0) + off)), 4);
}

static void bar0_write64(int dev, uint64_t off, uint64_t v)
{
	ck_assert_int_eq(pwrite(dev, &v, 8, (off_t)(REGION(0) + off)), 8);
}

static uint32_t bar0_read32(int dev, uint64_t off)
{
	uint32_t v;

	ck_assert_int_eq(pread(dev, &v, 4, (off_t)(REGION(0) + off)), 4);
	return v;
}

static void dsa_command(int dev, unsigned cmd)
{
	bar0_write32(dev, DSA_REG_CMD, DSA_CMD(cmd, 0));
	for (int i = 0; i < 1000 && (bar0_read32(dev, DSA_REG_CMDSTS) & DSA_CMDSTS_ACTIVE); i++)
		usleep(1000);
	ck_assert_uint_eq(bar0_read32(dev, DSA_REG_CMDSTS), 0);
}

/* WQ 0 dedicated, in group 0 with engine 0, the way the VFIO selftest driver does it. */
static void dsa_enable_wq0(int dev)
{
	uint16_t command = 0x6;     /* memory decoding + bus master */
	uint32_t cfg[16] = { 64, 32, DSA_WQCFG_MODE_DEDICATED | 1u << DSA_WQCFG_PRIORITY_SHIFT,
			     12, 0, 0, 0, 0, (uint32_t)DSA_OPS_IMPLEMENTED, 0 };

	ck_assert_int_eq(pwrite(dev, &command, 2, (off_t)(REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 4)),
			 2);
	dsa_command(dev, DSA_CMD_RESET_DEVICE);
	for (unsigned i = 0; i < 16; i++)
		bar0_write32(dev, DSA_WQCFG_OFFSET + 4 * i, cfg[i]);
	bar0_write64(dev, DSA_GRPCFG_OFFSET + DSA_GRPCFG_WQS, 1);
	bar0_write64(dev, DSA_GRPCFG_OFFSET + DSA_GRPCFG_ENGINES, 1);
	dsa_command(dev, DSA_CMD_ENABLE_DEVICE);
	dsa_command(dev, DSA_CMD_ENABLE_WQ);
}

static uint8_t submit_and_wait(int dev, const struct dsa_hw_desc *d,
			       volatile struct dsa_completion_record *cr)
{
	ck_assert_int_eq(pwrite(dev, d, sizeof(*d), (off_t)REGION(2)), (ssize_t)sizeof(*d));
	for (int i = 0; i < 2000 && !cr->status; i++)
		usleep(1000);
	return cr->status;
}

START_TEST(dma_through_the_iommu)
{
	struct bound b = bind_attached(DSA0);
	uint8_t *mem = buffer(0x4000);   /* IOVA 0x100000: record page, source, destination */
	volatile struct dsa_completion_record *cr = (void *)mem;
	uint8_t *src = mem + 0x1000, *dst = mem + 0x2000;

	ck_assert_ptr_nonnull(vfio_sim_iommu_faults);
	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0x100000), 0);
	dsa_enable_wq0(b.dev);
	memset(src, 0x5a, 256);
	memset(dst, 0, 256);
	struct dsa_hw_desc d = {
		.flags_opcode = dsa_flags_opcode(DSA_OP_MEMMOVE, DSA_FLAG_CRAV | DSA_FLAG_RCR),
		.completion_addr = 0x100000, .src = 0x101000, .dst = 0x102000, .xfer_size = 256,
	};

	/* Mapped: the copy happens through the IOAS. */
	ck_assert_uint_eq(submit_and_wait(b.dev, &d, cr), DSA_COMP_SUCCESS);
	ck_assert_uint_eq(dst[0], 0x5a);
	ck_assert_uint_eq(dst[255], 0x5a);
	ck_assert_uint_eq(vfio_sim_iommu_faults("dsa0"), 0);
	/* Source unmapped: the DSA page-fault status, an IOMMU fault, no write. */
	memset(dst, 0, 256);
	memset(mem, 0, sizeof(*cr));
	d.src = 0x4000000;
	ck_assert_uint_eq(submit_and_wait(b.dev, &d, cr) & DSA_COMP_STATUS_MASK,
			  DSA_COMP_PAGE_FAULT_NOBOF);
	ck_assert_uint_eq(cr->fault_addr, 0x4000000);
	ck_assert_uint_ge(vfio_sim_iommu_faults("dsa0"), 1);
	ck_assert_uint_eq(dst[0], 0);
	/* Unmapped after the fact: the same buffers now fault too. */
	uint64_t len = UINT64_MAX, faults = vfio_sim_iommu_faults("dsa0");

	ck_assert_int_eq(unmap(b.iommufd, b.ioas, 0, &len), 0);
	memset(mem, 0, sizeof(*cr));
	d.src = 0x101000;
	ck_assert_int_eq(pwrite(b.dev, &d, sizeof(d), (off_t)REGION(2)), (ssize_t)sizeof(d));
	usleep(20000);
	ck_assert_uint_gt(vfio_sim_iommu_faults("dsa0"), faults);
	ck_assert_uint_eq(dst[0], 0);
	ck_assert_uint_eq(cr->status, 0);                  /* the record was unreachable too */
}
END_TEST

static uint32_t config_read32(int dev, unsigned off)
{
	uint32_t v;

	ck_assert_int_eq(pread(dev, &v, 4, (off_t)(REGION(VFIO_PCI_CONFIG_REGION_INDEX) + off)), 4);
	return v;
}

/*
 * RESET is an FLR, as DEVCAP says: a running DSA comes back disabled with
 * its WQ configuration at defaults, config space reset; DEVCTL's Initiate
 * FLR reads 0 and does nothing through the config region.
 */
START_TEST(reset_is_a_function_level_reset)
{
	struct bound b = bind_attached(DSA0);
	unsigned exp = 0;
	uint16_t flr = PCI_EXP_DEVCTL_BCR_FLR;

	for (unsigned at = config_read32(b.dev, PCI_CAPABILITY_LIST) & 0xff; at && !exp;
	     at = (config_read32(b.dev, at) >> 8) & 0xff)
		exp = (config_read32(b.dev, at) & 0xff) == PCI_CAP_ID_EXP ? at : 0;
	ck_assert_uint_ne(exp, 0);
	ck_assert_uint_eq(config_read32(b.dev, exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR,
			  PCI_EXP_DEVCAP_FLR);
	dsa_enable_wq0(b.dev);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_REG_GENSTS) & 3, DSA_STATE_ENABLED);
	ck_assert_int_eq(pwrite(b.dev, &flr, 2, (off_t)(REGION(VFIO_PCI_CONFIG_REGION_INDEX) + exp +
						       PCI_EXP_DEVCTL)), 2);
	ck_assert_uint_eq(config_read32(b.dev, exp + PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_REG_GENSTS) & 3, DSA_STATE_ENABLED);

	ck_assert_int_eq(err_of(ioctl(b.dev, VFIO_DEVICE_RESET)), 0);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_REG_GENSTS) & 3, DSA_STATE_DISABLED);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_WQCFG_OFFSET), 0);             /* WQ size */
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_WQCFG_OFFSET + 24) >> DSA_WQCFG_STATE_SHIFT,
			  DSA_WQ_STATE_DISABLED);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_GRPCFG_OFFSET + DSA_GRPCFG_WQS), 0);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_REG_CMDSTS), 0);
	ck_assert_uint_eq(config_read32(b.dev, PCI_COMMAND) & 0xffff, 0);
	/* It works again once set up. */
	dsa_enable_wq0(b.dev);
	ck_assert_uint_eq(bar0_read32(b.dev, DSA_REG_GENSTS) & 3, DSA_STATE_ENABLED);
}
END_TEST

static void wr64(int dev, uint64_t off, uint64_t v)
{
	ck_assert_int_eq(pwrite(dev, &v, 8, (off_t)(REGION(0) + off)), 8);
}

static uint64_t rd64(int dev, uint64_t off)
{
	uint64_t v;

	ck_assert_int_eq(pread(dev, &v, 8, (off_t)(REGION(0) + off)), 8);
	return v;
}

static uint32_t wait_desc(volatile struct dfl_afu_desc *d)
{
	for (int i = 0; i < 2000 && d->status == DFL_AFU_ST_PENDING; i++)
		usleep(1000);
	return d->status;
}

START_TEST(dfl_afu_dma_through_the_iommu)
{
	const uint64_t afu = DFL_CARD_PORT(0) + DFL_CARD_AFU;
	struct bound b = bind_attached(FPGA0);
	uint8_t *mem = buffer(0x4000);   /* IOVA 0x200000: ring, source, destination */
	volatile struct dfl_afu_desc *ring = (void *)mem;
	uint16_t command = 0x6;

	ck_assert_int_eq(map_fixed(b.iommufd, b.ioas, mem, 0x4000, 0x200000), 0);
	ck_assert_int_eq(pwrite(b.dev, &command, 2, (off_t)(REGION(VFIO_PCI_CONFIG_REGION_INDEX) + 4)),
			 2);
	ck_assert_uint_eq(rd64(b.dev, afu + DFL_AFU_MAGIC), DFL_AFU_MAGIC_VALUE);
	memset(mem + 0x1000, 0xa5, 256);
	wr64(b.dev, afu + DFL_AFU_RING_BASE, 0x200000);
	wr64(b.dev, afu + DFL_AFU_RING_SIZE, 4);
	wr64(b.dev, afu + DFL_AFU_CTRL, DFL_AFU_CTRL_ENABLE);
	ring[0] = (struct dfl_afu_desc){ .op = DFL_AFU_OP_COPY, .src = 0x201000, .dst = 0x202000,
					 .len = 256 };
	wr64(b.dev, afu + DFL_AFU_RING_TAIL, 1);
	ck_assert_uint_eq(wait_desc(&ring[0]), DFL_AFU_ST_OK);
	ck_assert_uint_eq(mem[0x2000], 0xa5);
	ck_assert_uint_eq(vfio_sim_iommu_faults("fpga0"), 0);
	/* A source outside the IOAS: the AFU's address error, an IOMMU fault, no write. */
	memset(mem + 0x2000, 0, 256);
	ring[1] = (struct dfl_afu_desc){ .op = DFL_AFU_OP_COPY, .src = 0x9000000, .dst = 0x202000,
					 .len = 256 };
	wr64(b.dev, afu + DFL_AFU_RING_TAIL, 2);
	ck_assert_uint_eq(wait_desc(&ring[1]), DFL_AFU_ST_ADDRESS);
	ck_assert_uint_ge(vfio_sim_iommu_faults("fpga0"), 1);
	ck_assert_uint_eq(mem[0x2000], 0);
}
END_TEST

static Suite *sim_suite(void)
{
	Suite *s = suite_create("vfio-sim");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, sysfs_layout);
	tcase_add_test(tc, group_two_contexts_one_process);
	tcase_add_test(tc, group_two_processes);
	tcase_add_test(tc, group_member_on_host_driver);
	tcase_add_test(tc, legacy_group_open_blocks_bind);
	tcase_add_test(tc, bind_blocks_legacy_group_open);
	tcase_add_test(tc, legacy_group_two_processes);
	tcase_add_test(tc, before_bind_everything_fails);
	tcase_add_test(tc, bind_arguments);
	tcase_add_test(tc, iova_ranges_and_reserved);
	tcase_add_test(tc, map_rules);
	tcase_add_test(tc, unmap_rules);
	tcase_add_test(tc, destroy_rules);
	tcase_add_test(tc, struct_size_rules);
	tcase_add_test(tc, region_offsets_and_access);
	tcase_add_test(tc, region_sparse_mmap);
	tcase_add_test(tc, set_irqs_validation);
	tcase_add_test(tc, dma_through_the_iommu);
	tcase_add_test(tc, reset_is_a_function_level_reset);
	tcase_add_test(tc, dfl_afu_dma_through_the_iommu);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(sim_suite());

	if (!getenv("VMM_VFIO_SIM_CONFIG") || !vfio_sim_iommu_faults) {
		fprintf(stderr, "test-sim: run me with LD_PRELOAD=build/vfio-sim/libvfiosim.so and "
			"VMM_VFIO_SIM_CONFIG=tests/vfio-sim/configs/rules.toml (make check-vfio-sim)\n");
		return 2;
	}
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);

	srunner_free(runner);
	return failed ? 1 : 0;
}
