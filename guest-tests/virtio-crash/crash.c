// SPDX-License-Identifier: MIT
/*
 * Guest image `virtio-crash`, driven by tests/virtio/crash-consistency.sh
 * with tests/virtio/crash.toml (no [test] section: it is not run alone).
 *
 *   crash.phase=write crash.seed=S    writes 4 KiB blocks in order, 16 in
 *       flight, flushes after each group and then prints
 *       "virtio-crash: durable N" (blocks 0..N-1 are flushed). Keeps going
 *       until the disk is full, then waits to be killed.
 *   crash.phase=verify crash.seed=S crash.blocks=N    reads blocks 0..N-1
 *       back and checks each holds what phase 1 wrote.
 */
#include <stdlib.h>

#include "fw/test.h"
#include "fw/tsc.h"
#include "fw/virtio.h"

#define BLOCK   4096u
#define GROUP   16u

const char *test_image_name = "virtio-crash";

static struct fw_blk disk;
static uint8_t buf[GROUP * BLOCK] __attribute__((aligned(4096)));

static const char *arg(const char *name)
{
	const char *args = fw_fdt_bootargs(), *p;
	size_t n = strlen(name);

	for (p = args; p && (p = strstr(p, name)); p += n)
		if ((p == args || p[-1] == ' ') && p[n] == '=')
			return p + n + 1;
	return NULL;
}

static uint64_t arg_num(const char *name, uint64_t def)
{
	const char *v = arg(name);

	return v ? strtoull(v, NULL, 0) : def;
}

/* Every 8-byte word of block b names the seed, the block and its position. */
static uint64_t word(uint64_t seed, uint64_t block, unsigned i)
{
	return (seed << 32) ^ (block << 10) ^ i ^ 0x5a5a000000000000ull;
}

static void fill(uint8_t *p, uint64_t seed, uint64_t block)
{
	uint64_t *w = (uint64_t *)(void *)p;

	for (unsigned i = 0; i < BLOCK / 8; i++)
		w[i] = word(seed, block, i);
}

static bool intact(const uint8_t *p, uint64_t seed, uint64_t block)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (unsigned i = 0; i < BLOCK / 8; i++)
		if (w[i] != word(seed, block, i))
			return false;
	return true;
}

/* One group: GROUP writes in flight, all must succeed. */
static bool write_group(uint64_t seed, uint64_t first)
{
	int slots[GROUP];

	for (unsigned i = 0; i < GROUP; i++) {
		fill(buf + i * BLOCK, seed, first + i);
		slots[i] = fw_blk_submit(&disk, FW_VIRTIO_BLK_T_OUT, (first + i) * (BLOCK / 512),
					 buf + i * BLOCK, BLOCK, i);
		if (slots[i] < 0)
			return false;
	}
	fw_blk_kick(&disk);
	for (unsigned i = 0; i < GROUP; i++)
		if (fw_blk_wait(&disk, slots[i], 5000000) != FW_VIRTIO_BLK_S_OK)
			return false;
	return true;
}

static void phase_write(uint64_t seed, uint64_t blocks)
{
	for (uint64_t b = 0; b + GROUP <= blocks; b += GROUP) {
		REQUIRE(write_group(seed, b), "write of blocks %llu.. failed", (unsigned long long)b);
		REQUIRE(fw_blk_io(&disk, FW_VIRTIO_BLK_T_FLUSH, 0, NULL, 0) == FW_VIRTIO_BLK_S_OK,
			"flush failed");
		printf("virtio-crash: durable %llu\n", (unsigned long long)(b + GROUP));
	}
	printf("virtio-crash: disk full\n");
	for (;;)
		cpu_relax(); /* the script kills the VMM */
}

static void phase_verify(uint64_t seed, uint64_t blocks)
{
	uint64_t bad = 0, first_bad = 0;

	for (uint64_t b = 0; b < blocks; b++) {
		REQUIRE(fw_blk_io(&disk, FW_VIRTIO_BLK_T_IN, b * (BLOCK / 512), buf, BLOCK) ==
				FW_VIRTIO_BLK_S_OK, "read of block %llu failed", (unsigned long long)b);
		if (!intact(buf, seed, b) && bad++ == 0)
			first_bad = b;
	}
	CHECK(bad == 0, "%llu of %llu flushed blocks lost, first %llu", (unsigned long long)bad,
	      (unsigned long long)blocks, (unsigned long long)first_bad);
	diag("virtio-crash: verified %llu flushed blocks", (unsigned long long)blocks);
}

TEST(crash_consistency)
{
	const char *phase = arg("crash.phase");
	uint64_t seed = arg_num("crash.seed", 0);

	REQUIRE(phase && seed, "needs crash.phase=write|verify and crash.seed=N");
	REQUIRE(fw_blk_open(&disk, 0, FW_BLK_WANT_ALL, 128) == 0, "no virtio-blk");
	disk.indirect = true;
	bool write = !strncmp(phase, "write", 5);

	diag("virtio-crash: %s, seed %llu, %s mode", write ? "write" : "verify",
	     (unsigned long long)seed, disk.dev.notify[0]);
	if (write)
		phase_write(seed, disk.capacity / (BLOCK / 512));
	else
		phase_verify(seed, arg_num("crash.blocks", 0));
}
