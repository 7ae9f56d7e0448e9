// SPDX-License-Identifier: MIT
/* fw/stats.h */
#include <stdint.h>

#include "fw/stats.h"

struct fw_stats fw_stats_u64(uint64_t *v, unsigned int n)
{
	struct fw_stats s = { 0, 0, 0, 0, n };
	uint64_t sum = 0;

	if (!n)
		return s;
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (unsigned int i = 0; i < n; i++)
		sum += v[i];
	s.min = v[0];
	s.max = v[n - 1];
	s.median = v[n / 2];
	s.mean = sum / n;
	return s;
}
