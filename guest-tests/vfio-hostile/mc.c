// SPDX-License-Identifier: MIT
/*
 * Guest test `vfio-hostile`, second half: a hostile guest on a DPRC passed
 * through with vfio-fsl-mc (docs/devices/vfio-fsl-mc.md), beyond the random
 * command stream guest-tests/fslmc runs against it:
 *
 *  - SET_IRQ storms with wild MSI addresses: each is a KVM route change
 *    for the VMM; a non-interrupt address must be dropped, never delivered
 *    late;
 *  - sessions closed behind the forwarder's back (a container reset), far
 *    more than its table holds: the one session kept open must stay whole;
 *  - malformed commands: unknown and unterminated type names, wild region
 *    and IRQ indexes, unknown objects that make the forwarder rescan,
 *    every command version;
 *  - a hot-plugged DPMCP added, opened, given an MSI and removed a
 *    thousand times: each cycle opens and closes a host vfio device and
 *    allocates a GSI, so a leak of either ends the cycles early;
 *  - odd accesses to the portal and register windows.
 *
 * After each, the MC must answer and the DPRC's IRQ must reach the guest
 * exactly once. The last test checks both devices.
 */
#include "fw/apic.h"
#include "fw/fslmc.h"
#include "fw/irq.h"
#include "fw/pci.h"
#include "fw/test.h"
#include "fw/tsc.h"
#include "vfio_hostile.h"

#define VEC_MC        0x70
#define ROOT_ID       1
#define ROOT_OBJECTS  4     /* tests/vfio-sim/configs/vfio-hostile.toml */
#define HOTPLUG_ID    9     /* dpmcp.9, the config's hotplug entry */
#define CHURN         1100  /* more cycles than the VM has MSI GSIs (1000) */

static struct fw_mc mc;
static struct fw_mc_portal root;
static bool mc_found;

void mc_setup(void)
{
	mc_found = fw_mc_find(&mc) == 0;
	if (mc_found)
		fw_mc_portal_init(&root, mc.portal_gpa);
	diag("fsl-mc node %s", mc_found ? "found" : "missing");
}

#define NEED_MC() REQUIRE(mc_found, "no fsl-mc node")

static uint64_t wait_ticks(void)
{
	return fw_tsc_from_us(1000000);
}

static bool valid_status(int st)
{
	return st == FW_MC_OK || (st >= FW_MC_AUTH_ERR && st <= FW_MC_INVALID_STATE);
}

static uint16_t open_root(void)
{
	uint16_t token = 0;

	return fw_dprc_open(&root, ROOT_ID, &token) == FW_MC_OK ? token : 0;
}

static int hook(uint16_t cmd_id, uint16_t token, const char *type, uint32_t id, uint8_t b4,
		uint8_t b5, uint32_t bits)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, cmd_id, token);
	fw_mc_put(&cmd, 0, 4, id);
	fw_mc_put(&cmd, 4, 1, b4);
	fw_mc_put(&cmd, 5, 1, b5);
	fw_mc_put(&cmd, 8, 4, bits);
	fw_mc_put_str(&cmd, 24, type);
	fw_mc_put_str(&cmd, 40, "hotplug");
	return fw_mc_send(&root, &cmd);
}

/* The DPRC's IRQ 0 as Linux sets it up, aimed at `address`. */
static void root_irq_setup(uint16_t token, uint64_t address)
{
	fw_mc_set_irq_enable(&root, token, 0, 0);
	fw_mc_set_irq_mask(&root, token, 0, 0);
	fw_mc_clear_irq_status(&root, token, 0, ~0u);
	CHECK_EQ(fw_mc_set_irq(&root, token, 0, address, VEC_MC, 0), FW_MC_OK);
	fw_mc_set_irq_mask(&root, token, 0, ~0u);
	fw_mc_set_irq_enable(&root, token, 0, 1);
}

static uint32_t counts[256];

static unsigned delivered_since(void)
{
	unsigned moved = 0;

	for (unsigned v = FW_VEC_FIRST_IRQ; v < 256; v++)
		moved += fw_irq_count(v) - counts[v];
	return moved;
}

static void snapshot(void)
{
	for (unsigned v = FW_VEC_FIRST_IRQ; v < 256; v++)
		counts[v] = fw_irq_count(v);
}

/* The MC answers, lists the container, and its IRQ arrives exactly once. */
static void check_mc_works(const char *after)
{
	uint16_t token = open_root();
	uint32_t count = 0;

	if (!CHECK(token, "after %s: cannot open the root DPRC", after))
		return;
	CHECK(fw_dprc_get_obj_count(&root, token, &count) == FW_MC_OK && count == ROOT_OBJECTS,
	      "after %s: GET_OBJ_COUNT says %u", after, count);
	fw_lapic_init_cpu();
	root_irq_setup(token, fw_msi_address(fw_lapic_id()));

	bool irqs = fw_irq_save();
	uint32_t before = fw_irq_count(VEC_MC);

	fw_irq_enable();
	CHECK(hook(FW_MC_CMD_TEST_ASSERT_IRQ, token, "dprc", ROOT_ID, 0, 0, 1) == FW_MC_OK,
	      "after %s: asserting the DPRC's IRQ", after);
	CHECK(fw_irq_wait_count(VEC_MC, before + 1, wait_ticks()), "after %s: no DPRC MSI", after);
	fw_udelay(5000);
	CHECK(fw_irq_count(VEC_MC) == before + 1, "after %s: %u DPRC MSIs for one", after,
	      fw_irq_count(VEC_MC) - before);
	fw_irq_restore(irqs);
	fw_mc_clear_irq_status(&root, token, 0, ~0u);
	fw_mc_set_irq_enable(&root, token, 0, 0);
	CHECK_EQ(fw_mc_close(&root, token), FW_MC_OK);
}

TEST(mc_baseline)
{
	NEED_MC();
	check_mc_works("setup");
}

static uint32_t prng = 0x7f4a7c15u;

static uint32_t rnd(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 17;
	prng ^= prng << 5;
	return prng;
}

TEST(mc_set_irq_storm_and_wild_addresses)
{
	const uint64_t wild[] = {
		0, 0x1000, 0xfef00000u, 0xfedff000u, 0xe0000000u, mc.portal_gpa,
		0x1fee00000ull, 0xfffffffffee00000ull,
	};
	uint16_t token;
	unsigned bad = 0;

	NEED_MC();
	REQUIRE((token = open_root()), "open root");
	fw_lapic_init_cpu();
	/* Every SET_IRQ is a route change in KVM (or a route dropped). */
	for (unsigned i = 0; i < 2000; i++) {
		uint64_t address = wild[i % 8];

		if (i % 3 == 0)
			address = fw_msi_address(fw_lapic_id());
		else if (i % 3 == 1)
			address = (uint64_t)rnd() << 32 | rnd();

		bad += fw_mc_set_irq(&root, token, 0, address, rnd(), rnd()) != FW_MC_OK;
	}
	CHECK(bad == 0, "%u SET_IRQs of index 0 refused", bad);
	/* Indexes the DPRC does not have: the host's own check, every time. */
	for (unsigned index = 1; index < 256; index += 17)
		CHECK_EQ(fw_mc_set_irq(&root, token, (uint8_t)index, 0xfee00000u, VEC_MC, 0),
			 FW_MC_CONFIG_ERR);
	/* An asserted IRQ aimed at a non-interrupt address reaches nobody, now or later. */
	bool irqs = fw_irq_save();

	fw_irq_enable();
	for (unsigned a = 0; a < sizeof(wild) / sizeof(wild[0]); a++) {
		root_irq_setup(token, wild[a]);
		snapshot();
		CHECK_EQ(hook(FW_MC_CMD_TEST_ASSERT_IRQ, token, "dprc", ROOT_ID, 0, 0, 1), FW_MC_OK);
		fw_udelay(10000);
		CHECK(delivered_since() == 0, "DPRC MSI to %#llx delivered %u interrupt(s)",
		      (unsigned long long)wild[a], delivered_since());
		fw_mc_clear_irq_status(&root, token, 0, ~0u);
		fw_mc_set_irq(&root, token, 0, fw_msi_address(fw_lapic_id()), VEC_MC, 0);
		fw_udelay(5000);
		CHECK(delivered_since() == 0, "DPRC MSI to %#llx arrived once the address was fixed",
		      (unsigned long long)wild[a]);
	}
	fw_irq_restore(irqs);
	fw_mc_set_irq_enable(&root, token, 0, 0);
	fw_mc_close(&root, token);
	check_mc_works("SET_IRQ storms");
}

TEST(mc_sessions_never_closed)
{
	uint16_t keeper, last = 0;
	unsigned opened = 0, bad = 0;
	uint32_t count = 0;

	NEED_MC();
	REQUIRE((keeper = open_root()), "open root");
	/* The MC holds 128 sessions. Fill it, then reset the container from
	 * the keeper's session, which closes every other one without a CLOSE
	 * the forwarder could see: six rounds open far more sessions than its
	 * table (512) holds, nearly all of them dead. */
	for (unsigned round = 0; round < 6; round++) {
		for (;;) {
			uint16_t token = 0;
			int st = fw_dprc_open(&root, ROOT_ID, &token);

			bad += !valid_status(st);
			if (st != FW_MC_OK)
				break;
			last = token;
			opened++;
		}
		CHECK_EQ(fw_mc_set_irq(&root, last, 0, 0xfee00000u, VEC_MC, 0), FW_MC_OK);
		CHECK_EQ(fw_dprc_reset_container(&root, keeper, ROOT_ID, 1), FW_MC_OK);
		CHECK_EQ(fw_dprc_get_obj_count(&root, last, &count), FW_MC_AUTH_ERR);
	}
	CHECK(bad == 0, "%u OPENs gave no MC status", bad);
	diag("%u sessions opened in 6 rounds", opened);
	CHECK(opened > 600, "only %u sessions opened", opened);
	/* The session that stayed open all along is still the guest's in full:
	 * the MC answers on it and its IRQ is still virtualized. */
	CHECK_EQ(fw_dprc_get_obj_count(&root, keeper, &count), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq(&root, keeper, 0, 0xfee00000u, VEC_MC, 0), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&root, keeper), FW_MC_OK);
	check_mc_works("sessions never closed");
}

TEST(mc_malformed_commands)
{
	static const char *const types[] = { "dpmcp", "dpio", "dprc", "nosuch", "", "dpmcpdpmcpdpmcp" };
	uint16_t token;
	unsigned bad = 0, sent = 0;

	NEED_MC();
	REQUIRE((token = open_root()), "open root");
	/* GET_OBJ_REG in every version with wild indexes, types and ids. */
	for (unsigned v = 1; v <= 3; v++) {
		for (unsigned t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			for (unsigned index = 0; index < 256; index += 51) {
				struct fw_mc_region r;
				int st = fw_dprc_get_obj_region(&root, token, v, types[t],
								t % 2 ? 0xffffffffu : 1,
								(uint8_t)index, &r);

				bad += !valid_status(st);
				sent++;
			}
		}
	}
	/* A type name of 16 bytes with no NUL, an id far off, a huge index. */
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_OBJ_REG(2), token);
	fw_mc_put(&cmd, 0, 4, 0x7fffffffu);
	fw_mc_put(&cmd, 6, 1, 0xff);
	fw_mc_put(&cmd, 24, 8, 0x4141414141414141ull);
	fw_mc_put(&cmd, 32, 8, 0x4141414141414141ull);
	bad += !valid_status(fw_mc_send(&root, &cmd));
	/* SET_OBJ_IRQ for objects that do not exist: each makes the forwarder
	 * rescan the container with the guest's token. */
	for (unsigned i = 0; i < 200; i++) {
		int st = fw_dprc_set_obj_irq(&root, token, types[i % 6], rnd() % 12,
					     (uint8_t)rnd(), 0xfee00000u, VEC_MC, 0);

		bad += !valid_status(st);
		sent++;
	}
	/* GET_OBJ far past the end, and every version of a few commands. */
	for (unsigned i = 0; i < 64; i++) {
		struct fw_mc_obj_desc d;

		bad += !valid_status(fw_dprc_get_obj(&root, token, ROOT_OBJECTS + i * 97, &d));
		sent++;
	}
	static const uint16_t numbers[] = { 0x010, 0x011, 0x15e, 0x15f, 0x805, 0x800, 0x159, 0xe03 };

	for (unsigned n = 0; n < sizeof(numbers) / sizeof(numbers[0]); n++) {
		for (unsigned version = 0; version < 16; version += 3) {
			fw_mc_cmd_init(&cmd, FW_MC_CMD(numbers[n], version), version % 2 ? token : 0);
			for (unsigned k = 0; k < 7; k++)
				cmd.params[k] = (uint64_t)rnd() << 32 | rnd();
			if (numbers[n] == 0x800 && version == 1)
				continue; /* a CLOSE of our token would end the test early */
			bad += !valid_status(fw_mc_send(&root, &cmd));
			sent++;
		}
	}
	CHECK(bad == 0, "%u of %u malformed commands got no MC status", bad, sent);
	CHECK_EQ(fw_mc_close(&root, token), FW_MC_OK);
	check_mc_works("malformed commands");
}

TEST(mc_hotplug_churn)
{
	uint16_t token;
	unsigned cycles = 0, no_portal = 0, no_open = 0, no_irq = 0;

	NEED_MC();
	REQUIRE((token = open_root()), "open root");
	/* Each cycle: the object appears, the guest finds its portal (the VMM
	 * opens its host vfio device), opens it there and programs its MSI (a
	 * GSI for the VMM), then it goes away (device closed, GSI freed). */
	for (unsigned i = 0; i < CHURN; i++) {
		struct fw_mc_region r;
		struct fw_mc_portal p;
		uint16_t mcp = 0;

		if (hook(FW_MC_CMD_TEST_ADD_OBJ, token, "dpmcp", HOTPLUG_ID, 1, 1, 0) != FW_MC_OK)
			break;
		if (fw_dprc_get_obj_region(&root, token, 3, "dpmcp", HOTPLUG_ID, 0, &r) != FW_MC_OK) {
			no_portal++;
		} else {
			fw_mc_portal_init(&p, fw_mc_region_gpa(&mc, &r));
			if (fw_dpmcp_open(&p, HOTPLUG_ID, &mcp) != FW_MC_OK)
				no_open++;
			else if (fw_mc_set_irq(&p, mcp, 0, 0xfee00000u, VEC_MC + 1, 0) != FW_MC_OK)
				no_irq++;
		}
		if (hook(FW_MC_CMD_TEST_REMOVE_OBJ, token, "dpmcp", HOTPLUG_ID, 0, 0, 0) != FW_MC_OK)
			break;
		cycles++;
	}
	diag("%u hot-plug cycles", cycles);
	CHECK_EQ(cycles, CHURN);
	CHECK(no_portal == 0 && no_open == 0 && no_irq == 0, "cycles without a portal %u, without "
	      "an OPEN %u, without an MSI %u", no_portal, no_open, no_irq);
	fw_mc_clear_irq_status(&root, token, 0, ~0u);
	fw_mc_close(&root, token);
	check_mc_works("hot-plug churn");
}

TEST(mc_odd_window_accesses)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	volatile uint8_t *portal = (volatile uint8_t *)(uintptr_t)mc.portal_gpa;
	volatile uint8_t *windows = (volatile uint8_t *)(uintptr_t)mc.qbman;

	NEED_MC();
	/* Past the 64-byte command area of the root portal, and in windows no
	 * object owns (the last register window): reads are harmless, writes
	 * go nowhere. The command area itself is left alone. */
	for (unsigned off = 64; off < 256; off += 3) {
		for (unsigned s = 0; s < 4; s++) {
			switch (sizes[s]) {
			case 1: (void)portal[off]; portal[off] = 0xff; break;
			case 2: (void)*(volatile uint16_t *)(portal + off); break;
			case 4: (void)*(volatile uint32_t *)(portal + off); break;
			default: (void)*(volatile uint64_t *)(portal + off); break;
			}
		}
	}
	uint64_t last = mc.qbman_size - 0x10000;

	for (unsigned off = 0; off < 64; off += 5) {
		(void)windows[last + off];
		windows[last + off] = 0xa5;
		(void)*(volatile uint32_t *)(windows + last + off);
		*(volatile uint64_t *)(windows + last + (off & ~7u)) = ~0ull;
	}
	CHECK_EQ(*(volatile uint32_t *)(windows + last), 0xffffffffu);
	check_mc_works("odd window accesses");
}

TEST(vmm_still_runs)
{
	if (dsa_ready())
		check_device_works("everything");
	NEED_MC();
	check_mc_works("everything");
	CHECK(fw_lapic_read(FW_APIC_SVR) & FW_APIC_SVR_ENABLE, "LAPIC disabled");
}
