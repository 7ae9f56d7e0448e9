// SPDX-License-Identifier: MIT
/*
 * Guest test `fslmc-vfio` (configs/fslmc-vfio-paths.toml): what a
 * passed-through DPRC changes on top of the MC protocol guest-tests/fslmc
 * checks (that one runs unchanged against it too). The VMM forwards the
 * guest's commands to the host MC, except (docs/devices/vfio-fsl-mc.md):
 *
 *  - commands that would change the container or its isolation, and the
 *    one that answers a host physical address, are refused: NO_PRIVILEGE
 *    (the emulated MC does not know them: UNSUPPORTED_OP);
 *  - SET_IRQ / SET_OBJ_IRQ are virtualized: GET_IRQ shows the guest its
 *    own values, while the host's own checks still decide the errors;
 *  - GET_OBJ_REG answers are guest addresses, in each version's form,
 *    never the host's (the simulated host's MC sits at 0x80c000000);
 *  - a DPMCP portal is a host portal too: its tokens are its own.
 */
#include <string.h>

#include "fw/fdt.h"
#include "fw/fslmc.h"
#include "fw/test.h"

const char *test_image_name = "fslmc-vfio";

#define ROOT_ID       1
#define PORTAL_WINDOW 0x10000ull
#define MC_SPAN       (80 * PORTAL_WINDOW) /* 16 portal + 64 register windows */

static struct fw_mc mc;
static struct fw_mc_portal root;
static bool found;

void test_setup(void)
{
	found = fw_mc_find(&mc) == 0;
	if (found)
		fw_mc_portal_init(&root, mc.portal_gpa);
	diag("fsl-mc node %s, portal mode %s", found ? "found" : "missing",
	     found && mc.mode ? mc.mode : "?");
}

static uint16_t open_root(void)
{
	uint16_t token = 0;

	return fw_dprc_open(&root, ROOT_ID, &token) == FW_MC_OK ? token : 0;
}

static int raw(struct fw_mc_portal *p, uint16_t cmd_id, uint16_t token)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, cmd_id, token);
	return fw_mc_send(p, &cmd);
}

TEST(isolation_commands_refused)
{
	static const uint16_t numbers[] = { 0x151, 0x152, 0x155, 0x157, 0x158, 0x16b };
	uint16_t token = open_root();

	REQUIRE(token, "open the root container");
	for (unsigned i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		CHECK(raw(&root, FW_MC_CMD(numbers[i], 1), token) == FW_MC_NO_PRIVILEGE,
		      "DPRC command %#x not refused", numbers[i]);
	CHECK_EQ(raw(&root, FW_MC_CMD(0x901, 1), token), FW_MC_NO_PRIVILEGE); /* DPNI CREATE */
	CHECK_EQ(raw(&root, FW_MC_CMD(0x981, 1), token), FW_MC_NO_PRIVILEGE); /* DPNI DESTROY */
	/* The session survived: refusing is local. */
	uint32_t count = 0;

	CHECK_EQ(fw_dprc_get_obj_count(&root, token, &count), FW_MC_OK);
	fw_mc_close(&root, token);
}

static bool get_irq(uint16_t token, uint8_t index, uint64_t *addr, uint32_t *data, uint32_t *num)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_GET_IRQ, token);
	fw_mc_put(&cmd, 4, 1, index);
	if (fw_mc_send(&root, &cmd) != FW_MC_OK)
		return false;
	*data = (uint32_t)fw_mc_get(&cmd, 0, 4);
	*addr = fw_mc_get(&cmd, 8, 8);
	*num = (uint32_t)fw_mc_get(&cmd, 16, 4);
	return true;
}

TEST(irq_programming_is_virtual)
{
	uint16_t token = open_root(), io = 0;
	uint64_t addr = 0;
	uint32_t data = 0, num = 0;

	REQUIRE(token, "open the root container");
	CHECK_EQ(fw_mc_set_irq(&root, token, 0, 0xfee01000, 0x4a, 11), FW_MC_OK);
	REQUIRE(get_irq(token, 0, &addr, &data, &num), "GET_IRQ");
	CHECK_EQ(addr, 0xfee01000);
	CHECK_EQ(data, 0x4a);
	CHECK_EQ(num, 11);
	/* A child object's IRQ set by the container, read through its own token. */
	REQUIRE(fw_mc_open(&root, "dpio", 1, &io) == FW_MC_OK, "open dpio.1");
	CHECK_EQ(fw_dprc_set_obj_irq(&root, token, "dpio", 1, 0, 0xfee00000, 0x4b, 12), FW_MC_OK);
	REQUIRE(get_irq(io, 0, &addr, &data, &num), "GET_IRQ dpio");
	CHECK_EQ(addr, 0xfee00000);
	CHECK_EQ(data, 0x4b);
	CHECK_EQ(num, 12);
	/* The host's checks still decide the errors. */
	CHECK_EQ(fw_mc_set_irq(&root, (uint16_t)(token ^ 0x5a5a), 0, 0xfee00000, 1, 0),
		 FW_MC_AUTH_ERR);
	CHECK_EQ(fw_mc_set_irq(&root, token, 7, 0xfee00000, 1, 0), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_set_obj_irq(&root, io, "dpio", 1, 0, 0xfee00000, 1, 0),
		 FW_MC_UNSUPPORTED_OP);
	CHECK_EQ(fw_dprc_set_obj_irq(&root, token, "dpni", 2, 0, 0xfee00000, 1, 0),
		 FW_MC_CONFIG_ERR); /* in the child container */
	fw_mc_set_irq(&root, token, 0, 0, 0, 0);
	fw_mc_close(&root, io);
	fw_mc_close(&root, token);
}

static bool in_guest_windows(uint64_t gpa)
{
	return gpa >= mc.portal_gpa && gpa < mc.portal_gpa + MC_SPAN;
}

/* Every region of every object, in every version: a guest address, in the version's form. */
TEST(region_addresses_are_guest_addresses)
{
	uint16_t token = open_root();
	uint32_t count = 0;

	REQUIRE(token, "open the root container");
	REQUIRE(fw_dprc_get_obj_count(&root, token, &count) == FW_MC_OK, "GET_OBJ_COUNT");
	for (uint32_t i = 0; i < count; i++) {
		struct fw_mc_obj_desc d;

		if (!CHECK(fw_dprc_get_obj(&root, token, i, &d) == FW_MC_OK, "GET_OBJ %u", i))
			continue;
		for (uint8_t k = 0; k < d.region_count; k++) {
			struct fw_mc_region r[3];

			for (unsigned v = 1; v <= 3; v++) {
				if (!CHECK(fw_dprc_get_obj_region(&root, token, v, d.type, d.id, k,
								  &r[v - 1]) == FW_MC_OK,
					   "%s.%u region %u v%u", d.type, d.id, k, v))
					continue;
				uint64_t gpa = fw_mc_region_gpa(&mc, &r[v - 1]);
				uint64_t window = r[v - 1].type == 0 ? mc.mc_portals : mc.qbman;

				CHECK(in_guest_windows(gpa), "%s.%u region %u v%u at %#llx", d.type,
				      d.id, k, v, (unsigned long long)gpa);
				CHECK_EQ(r[v - 1].base_address, v == 1 ? 0 : window);
			}
			CHECK_EQ(fw_mc_region_gpa(&mc, &r[0]), fw_mc_region_gpa(&mc, &r[2]));
		}
	}
	fw_mc_close(&root, token);
}

/* A DPMCP's portal is its own host portal: sessions there are not the root portal's. */
TEST(dpmcp_portal_is_a_host_portal)
{
	uint16_t token = open_root(), mcp = 0, through = 0;
	struct fw_mc_region r;
	struct fw_mc_portal p;
	uint32_t count = 0;

	REQUIRE(token, "open the root container");
	REQUIRE(fw_dprc_get_obj_region(&root, token, 3, "dpmcp", 2, 0, &r) == FW_MC_OK, "dpmcp.2");
	fw_mc_portal_init(&p, fw_mc_region_gpa(&mc, &r));
	REQUIRE(fw_dpmcp_open(&p, 2, &mcp) == FW_MC_OK, "DPMCP OPEN through its portal");
	REQUIRE(fw_dprc_open(&p, ROOT_ID, &through) == FW_MC_OK, "root through dpmcp.2");
	CHECK_EQ(fw_dprc_get_obj_count(&p, through, &count), FW_MC_OK);
	CHECK_EQ(fw_dprc_get_obj_count(&root, through, &count), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_dprc_get_obj_count(&p, token, &count), FW_MC_AUTH_ERR);
	/* SET_IRQ is virtualized there too, on the DPMCP's own token. */
	CHECK_EQ(fw_mc_set_irq(&p, mcp, 0, 0xfee00000, 0x4c, 0), FW_MC_OK);
	fw_mc_close(&p, through);
	fw_mc_close(&p, mcp);
	fw_mc_close(&root, token);
}
