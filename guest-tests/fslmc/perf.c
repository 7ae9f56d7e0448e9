// SPDX-License-Identifier: MIT
/*
 * fslmc under load: hostile command streams, a stress loop over several
 * portals, and the command round trip (header write to status != READY, as
 * the guest sees it) printed as TAP diagnostics:
 *
 *   # fslmc round trip polled: p50 612 ns p99 1480 ns (n=20000; ticks 1408/3404 at 2300 MHz)
 *
 * The sample count comes from bootargs "fslmc.iters=N" (the configs set it).
 */
#include "mctest.h"

#define MAX_SAMPLES 200000u

static uint32_t samples[MAX_SAMPLES];

static uint64_t lcg(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 17;
}

/* Known commands with random tokens and parameters; header bits random too. */
TEST(hostile_command_stream)
{
	static const uint16_t ids[] = {
		0x8001, 0x0051, 0x0052, 0x0041, 0x0101, 0x0111, 0x0121, 0x0141, 0x0161, 0x0171,
		0x8301, 0x8311, 0x1591, 0x15a1, 0x15e1, 0x15e2, 0x15e3, 0x15f1, 0x16c1, 0x0021,
		0x0031, 0x0061, 0xa051, 0xe011, 0xe021, 0xe031, 0x1234, 0xffff, 0x0000,
	};
	unsigned histogram[16] = { 0 }, iters = (unsigned)bootarg("fslmc.hostile", 3000);
	uint64_t seed = 0x5eed;
	uint16_t root = open_root();
	uint32_t count = 0;

	REQUIRE(root, "open root");
	for (unsigned i = 0; i < iters; i++) {
		struct fw_mc_cmd cmd;
		uint16_t id = ids[lcg(&seed) % (sizeof(ids) / sizeof(ids[0]))];
		uint16_t token = lcg(&seed) % 4 ? (uint16_t)lcg(&seed) : root;

		fw_mc_cmd_init(&cmd, id, token);
		cmd.header |= (lcg(&seed) & 0xff01ff00ffull) & ~(0xffull << 16);
		for (unsigned k = 0; k < 7; k++)
			cmd.params[k] = lcg(&seed) << 20 ^ lcg(&seed);
		if (id == 0xe021 || id == 0x0051 || id == 0x0052 || id == 0x8001)
			cmd.header = (cmd.header & ~(0xffffull << 32)) | ((uint64_t)0x1 << 32);
		int st = fw_mc_send(&root_portal, &cmd);

		if (!CHECK(st == FW_MC_OK || (st >= FW_MC_AUTH_ERR && st <= FW_MC_INVALID_STATE),
			   "command %u (%#x): status %s", i, id, fw_mc_status_name(st)))
			break;
		histogram[st]++;
	}
	diag("hostile stream of %u: OK %u AUTH_ERR %u NO_PRIVILEGE %u CONFIG_ERR %u "
	     "NO_RESOURCE %u UNSUPPORTED_OP %u", iters, histogram[0], histogram[3], histogram[4],
	     histogram[6], histogram[8], histogram[11]);
	/* The root session survived (no random token hit it for CLOSE) and the tree stands. */
	CHECK(fw_dprc_get_obj_count(&root_portal, root, &count) == FW_MC_OK, "root session lost");
	CHECK(count >= ROOT_OBJECTS, "%u objects left", count);
	fw_mc_close(&root_portal, root);
}

/* Open/scan/close cycles on the root and two DPMCP portals, all must succeed. */
TEST(stress_loop)
{
	struct fw_mc_portal ports[3];
	unsigned iters = (unsigned)bootarg("fslmc.stress", 2000), failures = 0;
	uint64_t start = rdtsc(), commands = 0;

	fw_mc_portal_init(&ports[0], mc.portal_gpa);
	fw_mc_portal_init(&ports[1], MC_BASE + PORTAL_WINDOW);
	fw_mc_portal_init(&ports[2], MC_BASE + 2 * PORTAL_WINDOW);
	for (unsigned i = 0; i < iters && failures < 5; i++) {
		struct fw_mc_portal *p = &ports[i % 3];
		struct fw_mc_obj_desc d;
		struct fw_mc_region r;
		uint16_t token = 0;
		uint32_t count = 0;
		const struct expect_obj *e = &root_objects[i % ROOT_OBJECTS];

		failures += fw_dprc_open(p, ROOT_ID, &token) != FW_MC_OK;
		failures += fw_dprc_get_obj_count(p, token, &count) != FW_MC_OK || count != ROOT_OBJECTS;
		failures += fw_dprc_get_obj(p, token, i % ROOT_OBJECTS, &d) != FW_MC_OK ||
			    d.id != e->id || strcmp(d.type, e->type);
		if (e->regions)
			failures += fw_dprc_get_obj_region(p, token, 3, e->type, e->id, 0, &r) != FW_MC_OK;
		failures += fw_mc_close(p, token) != FW_MC_OK;
		commands += 4 + (e->regions != 0);
	}
	uint64_t ticks = rdtsc() - start;

	CHECK_EQ(failures, 0);
	if (tsc_per_us)
		diag("stress: %llu commands on 3 portals in %llu us (%llu commands/s)",
		     (unsigned long long)commands, (unsigned long long)(ticks / tsc_per_us),
		     (unsigned long long)(commands * 1000000ull * tsc_per_us / (ticks ? ticks : 1)));
}

static void report(const char *what, uint32_t *s, unsigned n)
{
	uint32_t p50 = percentile(s, n, 50), p99 = percentile(s, n, 99);
	const char *mode = mc.mode ? mc.mode : "?";

	if (tsc_per_us)
		diag("fslmc round trip %s%s: p50 %llu ns p99 %llu ns (n=%u; ticks %u/%u at %llu MHz)",
		     mode, what, (unsigned long long)p50 * 1000 / tsc_per_us,
		     (unsigned long long)p99 * 1000 / tsc_per_us, n, p50, p99,
		     (unsigned long long)tsc_per_us);
	else
		diag("fslmc round trip %s%s: p50 %u ticks p99 %u ticks (n=%u; TSC not calibrated)",
		     mode, what, p50, p99, n);
}

/* GET_CONT_ID back to back: header write to status != READY, by rdtsc. */
TEST(round_trip_latency)
{
	unsigned n = (unsigned)bootarg("fslmc.iters", 2000);
	struct fw_mc_portal dpmcp;
	uint32_t id;

	REQUIRE(mc_found, "no MC");
	n = n > MAX_SAMPLES ? MAX_SAMPLES : n < 100 ? 100 : n;
	for (unsigned i = 0; i < 100; i++) /* warm-up: the poller spins once busy */
		fw_dprc_get_container_id(&root_portal, &id);
	for (unsigned i = 0; i < n; i++) {
		REQUIRE(fw_dprc_get_container_id(&root_portal, &id) == FW_MC_OK, "command %u", i);
		samples[i] = (uint32_t)(root_portal.last_tsc < UINT32_MAX ? root_portal.last_tsc
									  : UINT32_MAX);
	}
	report("", samples, n);
	fw_mc_portal_init(&dpmcp, MC_BASE + PORTAL_WINDOW);
	for (unsigned i = 0; i < n / 4; i++) {
		REQUIRE(fw_dprc_get_container_id(&dpmcp, &id) == FW_MC_OK, "command %u", i);
		samples[i] = (uint32_t)dpmcp.last_tsc;
	}
	report(" (dpmcp.1 portal)", samples, n / 4);
}
