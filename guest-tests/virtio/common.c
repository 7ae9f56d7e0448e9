// SPDX-License-Identifier: MIT
/* Shared helpers of the virtio guest test (vt.h). */
#include <stdlib.h>

#include "fw/tsc.h"
#include "vt.h"

struct fw_blk vt_disk;
struct fw_blk vt_rodisk;
bool vt_disk_ok;
uint8_t vt_buf[VT_BUF_SIZE] __attribute__((aligned(4096)));
uint8_t vt_buf2[VT_BUF_SIZE] __attribute__((aligned(4096)));

unsigned long vt_arg(const char *name, unsigned long def)
{
	const char *args = fw_fdt_bootargs(), *p;
	size_t n = strlen(name);

	for (p = args; p && (p = strstr(p, name)); p += n) {
		if ((p == args || p[-1] == ' ') && p[n] == '=')
			return strtoul(p + n + 1, NULL, 0);
	}
	return def;
}

void vt_arg_str(const char *name, char *out, size_t n)
{
	const char *args = fw_fdt_bootargs(), *p;
	size_t len = strlen(name), i = 0;

	out[0] = '\0';
	for (p = args; p && (p = strstr(p, name)); p += len) {
		if ((p == args || p[-1] == ' ') && p[len] == '=') {
			for (p += len + 1; *p && *p != ' ' && i + 1 < n; p++)
				out[i++] = *p;
			out[i] = '\0';
			return;
		}
	}
}

const char *vt_mode(void)
{
	return vt_disk.dev.notify[0][0] ? vt_disk.dev.notify[0] : "?";
}

bool vt_open_disk(uint64_t want, uint16_t qsize)
{
	vt_disk_ok = fw_blk_open(&vt_disk, 0, want, qsize) == 0;
	return vt_disk_ok;
}

void test_setup(void)
{
	vt_open_disk(FW_BLK_WANT_ALL, 128);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

void vt_fill(void *buf, uint32_t len, uint64_t seed, uint64_t sector)
{
	uint64_t *w = buf;

	for (uint32_t i = 0; i < len / 8; i++)
		w[i] = mix(seed ^ ((sector + i / 64) << 16) ^ (i % 64));
}

long vt_check(const void *buf, uint32_t len, uint64_t seed, uint64_t sector)
{
	const uint64_t *w = buf;

	for (uint32_t i = 0; i < len / 8; i++) {
		if (w[i] != mix(seed ^ ((sector + i / 64) << 16) ^ (i % 64)))
			return (long)i * 8;
	}
	return -1;
}

bool vt_host_pattern_ok(const void *buf, uint64_t sector)
{
	char want[VT_SECTOR + 1];
	int n = snprintf(want, sizeof(want), "vmm-virtio sector %llu", (unsigned long long)sector);

	for (int i = n; i < (int)VT_SECTOR - 1; i++)
		want[i] = ' ';
	want[VT_SECTOR - 1] = '\n';
	return memcmp(buf, want, VT_SECTOR) == 0;
}

bool vt_wait_needs_reset(const struct fw_virtio *dev)
{
	uint64_t start = rdtsc(), limit = fw_tsc_from_us(2000000);

	while (rdtsc() - start < limit) {
		if (fw_virtio_status(dev) & FW_VIRTIO_S_NEEDS_RESET)
			return true;
		fw_udelay(100);
	}
	return false;
}

uint64_t vt_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}
