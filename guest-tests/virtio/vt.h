/* SPDX-License-Identifier: MIT */
/*
 * Shared state of the virtio guest test (configs/virtio-kick.toml,
 * configs/virtio-poll.toml: keep in step). The command line says what the
 * config declares:
 *   virtio.sectors=N   capacity of the read-write disk (sectors)
 *   virtio.serial=S    its serial (GET_ID)
 *   virtio.ro_sectors  capacity of the read-only disk
 *   virtio.bench_ms=N  length of each benchmark run (default 300)
 *   virtio.bench_qd=N  random-read queue depth (default 32)
 * Both images start with the host's pattern (tests/virtio/virtio.mk):
 * sector i is "vmm-virtio sector <i>" padded with spaces to 511 bytes, then
 * '\n'. Tests write only at sectors >= VT_SCRATCH.
 */
#ifndef GUEST_TESTS_VIRTIO_VT_H
#define GUEST_TESTS_VIRTIO_VT_H

#include "fw/test.h"
#include "fw/virtio.h"

#define VT_SECTOR     512u
#define VT_PATTERN    2048u   /* sectors [0, VT_PATTERN) hold the host pattern */
#define VT_SCRATCH    4096u   /* tests write from here */
#define VT_BUF_SIZE   (1u << 20)
#define VT_TIMEOUT_US 5000000u

extern struct fw_blk vt_disk;     /* read-write disk (the first virtio-blk) */
extern struct fw_blk vt_rodisk;   /* read-only disk (the second) */
extern bool vt_disk_ok;
extern uint8_t vt_buf[VT_BUF_SIZE];   /* 4 KiB aligned scratch */
extern uint8_t vt_buf2[VT_BUF_SIZE];

/* A number from /chosen/bootargs "name=N", or def. */
unsigned long vt_arg(const char *name, unsigned long def);
/* A word from bootargs "name=WORD" into out (size n), or "" */
void vt_arg_str(const char *name, char *out, size_t n);
/* The rw disk's notify mode from the DT ("kick" / "poll"). */
const char *vt_mode(void);

/* (Re)open the rw disk with `want` features and queue size; REQUIRE-able. */
bool vt_open_disk(uint64_t want, uint16_t qsize);

/* Fill / check a buffer with a pattern derived from (seed, sector). */
void vt_fill(void *buf, uint32_t len, uint64_t seed, uint64_t sector);
/* Returns the first mismatching byte offset, or -1. */
long vt_check(const void *buf, uint32_t len, uint64_t seed, uint64_t sector);
/* Does sector `sector`'s host pattern match buf (512 bytes)? */
bool vt_host_pattern_ok(const void *buf, uint64_t sector);

/* Wait (reading the status register) until the device reports NEEDS_RESET. */
bool vt_wait_needs_reset(const struct fw_virtio *dev);

/* xorshift64 */
uint64_t vt_rand(uint64_t *state);

#endif
