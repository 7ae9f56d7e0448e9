/* SPDX-License-Identifier: MIT */
/* Small statistics helpers for measurements in guest tests (firmware/stats.c). */
#ifndef FW_STATS_H
#define FW_STATS_H

#include <stdint.h>

struct fw_stats {
	uint64_t min, median, max, mean;
	unsigned int n;
};

/* Sorts v in place (insertion sort: n is small) and summarises it. */
struct fw_stats fw_stats_u64(uint64_t *v, unsigned int n);

#endif
