/* SPDX-License-Identifier: MIT */
/*
 * The backend table. Backends whose dev_*.c is not in the build yet are
 * weak references that stay NULL and are skipped, so the library builds
 * while the fsl-mc and platform backends are being written.
 */
#include <stdio.h>
#include <string.h>

#include "tests/vfio-sim/sim_internal.h"

#pragma weak sim_backend_dsa
#pragma weak sim_backend_dfl
#pragma weak sim_backend_fslmc
#pragma weak sim_backend_platform

static const struct sim_backend *backend_at(unsigned i)
{
	const struct sim_backend *const table[] = {
		&sim_backend_dsa, &sim_backend_dfl, &sim_backend_fslmc, &sim_backend_platform,
	};

	return i < sizeof(table) / sizeof(table[0]) ? table[i] : (const struct sim_backend *)-1;
}

const struct sim_backend *sim_backend_find(const char *kind)
{
	const struct sim_backend *b;

	for (unsigned i = 0; (b = backend_at(i)) != (const struct sim_backend *)-1; i++)
		if (b && strcmp(b->kind, kind) == 0)
			return b;
	return NULL;
}

void sim_backend_list(char *out, size_t len)
{
	const struct sim_backend *b;
	size_t o = 0;

	out[0] = 0;
	for (unsigned i = 0; (b = backend_at(i)) != (const struct sim_backend *)-1 && o < len; i++)
		if (b)
			o += (size_t)snprintf(out + o, len - o, "%s\"%s\"", o ? ", " : "", b->kind);
}
