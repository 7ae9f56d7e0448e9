/* SPDX-License-Identifier: MIT */
/*
 * /init of the Linux guest test's initrd (tests/linux/run-linux-test.sh).
 *
 * Static, freestanding, raw system calls: it prints what the kernel made of
 * the VMM's device tree (/proc/device-tree), the first line of the virtio
 * disk, and resets the machine, which the VMM turns into a clean exit.
 *
 * It only gets that far where KVM runs the guest with hardware
 * virtualization: on nested hosts without it (reference/kvm-here.md) a
 * `syscall` from guest CPL 3 never reaches the kernel, so this program
 * faults on its first system call and the kernel panics (panic=-1 resets).
 */
#include <stddef.h>
#include <stdint.h>

#define SYS_read       0
#define SYS_write      1
#define SYS_open       2
#define SYS_close      3
#define SYS_mkdir      83
#define SYS_mount      165
#define SYS_reboot     169
#define SYS_getdents64 217
#define O_RDONLY       0
#define O_DIRECTORY    0200000
#define REBOOT_MAGIC1  0xfee1dead
#define REBOOT_MAGIC2  672274793
#define REBOOT_RESTART 0x01234567

static long syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10),
			 "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return ret;
}

static long sys3(long n, long a, long b, long c)
{
	return syscall6(n, a, b, c, 0, 0, 0);
}

static size_t length(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void put(const char *s)
{
	sys3(SYS_write, 1, (long)s, (long)length(s));
}

/* A property: strings joined by ", ", other bytes as a length. */
static void show_property(const char *path, const char *label)
{
	char buf[256];
	long fd = sys3(SYS_open, (long)path, O_RDONLY, 0), n;

	put(label);
	if (fd < 0) {
		put(": (absent)\n");
		return;
	}
	n = sys3(SYS_read, fd, (long)buf, sizeof(buf) - 1);
	sys3(SYS_close, fd, 0, 0);
	for (long i = 0; i < n - 1; i++)
		if (buf[i] == '\0')
			buf[i] = ',';
	buf[n > 0 ? n : 0] = '\0';
	put(": ");
	put(buf);
	put("\n");
}

struct dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static void list_directory(const char *path)
{
	char buf[2048];
	long fd = sys3(SYS_open, (long)path, O_RDONLY | O_DIRECTORY, 0), n;

	if (fd < 0) {
		put("vmm-linux-init: cannot open ");
		put(path);
		put("\n");
		return;
	}
	while ((n = sys3(SYS_getdents64, fd, (long)buf, sizeof(buf))) > 0) {
		for (long at = 0; at < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + at);

			if (d->name[0] != '.') {
				put("vmm-linux-init: dt ");
				put(path);
				put("/");
				put(d->name);
				put("\n");
			}
			at += d->reclen;
		}
	}
	sys3(SYS_close, fd, 0, 0);
}

static void show_disk(void)
{
	char line[128];
	long fd = sys3(SYS_open, (long)"/dev/vda", O_RDONLY, 0), n;

	if (fd < 0) {
		put("vmm-linux-init: no /dev/vda\n");
		return;
	}
	n = sys3(SYS_read, fd, (long)line, sizeof(line) - 1);
	sys3(SYS_close, fd, 0, 0);
	for (long i = 0; i < n; i++)
		if (line[i] == '\n')
			n = i;
	line[n > 0 ? n : 0] = '\0';
	put("vmm-linux-init: disk says: ");
	put(line);
	put("\n");
}

void _start(void);
__attribute__((noreturn)) void _start(void)
{
	put("vmm-linux-init: user space runs\n");
	sys3(SYS_mkdir, (long)"/proc", 0555, 0);
	sys3(SYS_mkdir, (long)"/dev", 0755, 0);
	syscall6(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0, 0);
	syscall6(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", 0, 0, 0);
	list_directory("/proc/device-tree");
	list_directory("/proc/device-tree/isa");
	show_property("/proc/device-tree/compatible", "vmm-linux-init: compatible");
	show_property("/proc/device-tree/chosen/bootargs", "vmm-linux-init: bootargs");
	show_disk();
	put("vmm-linux-init: done, resetting\n");
	syscall6(SYS_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, REBOOT_RESTART, 0, 0, 0);
	for (;;)
		__asm__ volatile("pause");
}
