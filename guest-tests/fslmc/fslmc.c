// SPDX-License-Identifier: MIT
/*
 * fslmc: the emulated Management Complex seen by a guest, through the MC
 * client in firmware/fslmc.c: the DT node, the Linux bus probe sequence,
 * region descriptors, child containers, DPMCP portals, sessions, every
 * error status, DPBP, connections, and a header written in two halves.
 * irq.c: interrupts and hot plug; perf.c: stress, hostile input, latency.
 */
#include "mctest.h"

TEST(dt_node)
{
	const void *fdt = fw_fdt();
	int len;

	REQUIRE(mc_found, "no fsl,qoriq-mc node");
	CHECK_EQ(fdt_parent_offset(fdt, mc.node), 0);
	CHECK_EQ(fw_fdt_u32(mc.node, "#address-cells", 0), 3);
	CHECK_EQ(fw_fdt_u32(mc.node, "#size-cells", 0), 1);
	REQUIRE(fdt_getprop(fdt, mc.node, "reg", &len), "no reg");
	CHECK(len == 16, "reg has %d bytes: entry 0 only (2+2 cells) expected", len);
	CHECK_EQ(mc.portal_gpa, MC_BASE);
	CHECK_EQ(mc.portal_size, 0x40);
	CHECK_EQ(mc.range_count, 2);
	CHECK_EQ(mc.mc_portals, MC_BASE);
	CHECK_EQ(mc.qbman, MC_BASE + 16 * PORTAL_WINDOW);
	CHECK(mc.mode && (!strcmp(mc.mode, "polled") || !strcmp(mc.mode, "trapped")),
	      "vmm,portal-mode missing");
	int dpmacs = fdt_subnode_offset(fdt, mc.node, "dpmacs");
	int mac = dpmacs >= 0 ? fdt_subnode_offset(fdt, dpmacs, "ethernet@1") : -1;

	CHECK(mac >= 0 && fdt_node_check_compatible(fdt, mac, "fsl,qoriq-mc-dpmac") == 0,
	      "no dpmacs/ethernet@1 node");
}

static void check_obj(const struct fw_mc_obj_desc *d, const struct expect_obj *e)
{
	CHECK_STREQ(d->type, e->type);
	CHECK_EQ(d->id, e->id);
	CHECK_STREQ(d->label, e->label);
	CHECK_EQ(d->vendor, 0x1957);
	CHECK_EQ(d->irq_count, e->irqs);
	CHECK_EQ(d->region_count, e->regions);
	CHECK_EQ(d->ver_major, e->major);
	CHECK_EQ(d->ver_minor, e->minor);
	CHECK_EQ(d->state & FW_MC_OBJ_STATE_PLUGGED, e->plugged ? FW_MC_OBJ_STATE_PLUGGED : 0);
}

/* dprc_probe's scan: count, every object, every region (v3 for API 6.6). */
static void scan_container(struct fw_mc_portal *p, uint16_t token, const struct expect_obj *want,
			   uint32_t want_count)
{
	uint32_t count = 0;
	struct fw_mc_obj_desc d;
	struct fw_mc_region r;

	REQUIRE(fw_dprc_get_obj_count(p, token, &count) == FW_MC_OK, "GET_OBJ_COUNT failed");
	REQUIRE(count == want_count, "%u objects, expected %u", count, want_count);
	for (uint32_t i = 0; i < count; i++) {
		REQUIRE(fw_dprc_get_obj(p, token, i, &d) == FW_MC_OK, "GET_OBJ %u failed", i);
		check_obj(&d, &want[i]);
		for (uint8_t k = 0; k < d.region_count; k++) {
			int st = fw_dprc_get_obj_region(p, token, 3, d.type, d.id, k, &r);
			uint64_t gpa = fw_mc_region_gpa(&mc, &r);

			CHECK(st == FW_MC_OK, "GET_OBJ_REG %s.%u/%u: %s", d.type, d.id, k,
			      fw_mc_status_name(st));
			CHECK_EQ(r.size, PORTAL_WINDOW);
			CHECK(gpa >= MC_BASE && gpa < MC_BASE + 80 * PORTAL_WINDOW && !(gpa & 0xffff),
			      "%s.%u region %u at %#llx", d.type, d.id, k, (unsigned long long)gpa);
		}
	}
}

TEST(linux_probe_sequence)
{
	uint32_t major, minor, rev, id;
	uint16_t api_major, api_minor, token;
	struct fw_dprc_attr attr;

	REQUIRE(mc_found, "no MC");
	/* fsl_mc_bus_probe */
	REQUIRE(fw_mc_get_version(&root_portal, &major, &minor, &rev) == FW_MC_OK, "GET_VERSION");
	CHECK_EQ(major, FW_MAJOR);
	CHECK_EQ(minor, FW_MINOR);
	REQUIRE(fw_dprc_get_container_id(&root_portal, &id) == FW_MC_OK, "GET_CONT_ID");
	CHECK_EQ(id, ROOT_ID);
	REQUIRE(fw_dprc_get_api_version(&root_portal, &api_major, &api_minor) == FW_MC_OK, "API");
	CHECK_EQ(api_major, DPRC_MAJOR);
	CHECK_EQ(api_minor, DPRC_MINOR);
	REQUIRE(fw_dprc_open(&root_portal, id, &token) == FW_MC_OK, "DPRC OPEN");
	CHECK(token != 0, "token 0");
	CHECK(fw_dprc_get_attributes(&root_portal, token, &attr) == FW_MC_OK, "GET_ATTR");
	CHECK_EQ(attr.container_id, ROOT_ID);
	CHECK_EQ(attr.icid, ROOT_ICID);
	CHECK_EQ(attr.portal_id, 0);
	CHECK(fw_mc_close(&root_portal, token) == FW_MC_OK, "CLOSE");
	/* dprc_probe */
	REQUIRE(fw_dprc_open(&root_portal, id, &token) == FW_MC_OK, "DPRC OPEN");
	CHECK(fw_dprc_get_attributes(&root_portal, token, &attr) == FW_MC_OK, "GET_ATTR");
	CHECK(fw_dprc_get_api_version(&root_portal, &api_major, &api_minor) == FW_MC_OK, "API");
	scan_container(&root_portal, token, root_objects, ROOT_OBJECTS);
	CHECK(fw_mc_close(&root_portal, token) == FW_MC_OK, "CLOSE");
}

TEST(region_descriptor_versions)
{
	uint16_t token = open_root();
	struct fw_mc_region r1, r2, r3, io;

	REQUIRE(token, "open root");
	REQUIRE(fw_dprc_get_obj_region(&root_portal, token, 1, "dpmcp", 2, 0, &r1) == FW_MC_OK, "v1");
	REQUIRE(fw_dprc_get_obj_region(&root_portal, token, 2, "dpmcp", 2, 0, &r2) == FW_MC_OK, "v2");
	REQUIRE(fw_dprc_get_obj_region(&root_portal, token, 3, "dpmcp", 2, 0, &r3) == FW_MC_OK, "v3");
	/* v1: offset only, translated through ranges; v2/v3: absolute base. */
	CHECK_EQ(r1.base_address, 0);
	CHECK_EQ(r2.base_address, MC_BASE);
	CHECK_EQ(r3.base_address, MC_BASE);
	CHECK_EQ(fw_mc_region_gpa(&mc, &r1), fw_mc_region_gpa(&mc, &r3));
	CHECK_EQ(fw_mc_region_gpa(&mc, &r2), MC_BASE + 2 * PORTAL_WINDOW);
	CHECK_EQ(r1.size, 0x40);
	CHECK_EQ(r2.size, 0x40);
	CHECK_EQ(r3.size, PORTAL_WINDOW);
	CHECK_EQ(r3.type, 0);
	/* dpio: QBMAN portals (type 1) in the second range, flags from config */
	for (uint8_t k = 0; k < 2; k++) {
		REQUIRE(fw_dprc_get_obj_region(&root_portal, token, 3, "dpio", 1, k, &io) == FW_MC_OK,
			"dpio region %u", k);
		CHECK_EQ(io.type, 1);
		CHECK_EQ(io.flags, 3);
		CHECK_EQ(fw_mc_region_gpa(&mc, &io), mc.qbman + k * PORTAL_WINDOW);
		CHECK(fw_dprc_get_obj_region(&root_portal, token, 2, "dpio", 1, k, &io) == FW_MC_OK &&
		      io.size == 0x1000, "v2 dpio region size %#x", io.size);
	}
	fw_mc_close(&root_portal, token);
}

/* Plain register windows: what is written reads back; past the region, all ones. */
TEST(register_windows)
{
	volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)mc.qbman;

	REQUIRE(mc_found, "no MC");
	w[0] = 0x12345678;
	w[1] = 0x9abcdef0;
	CHECK_EQ(w[0], 0x12345678);
	CHECK_EQ(w[1], 0x9abcdef0);
	CHECK_EQ(*(volatile uint32_t *)(uintptr_t)(mc.qbman + 2 * PORTAL_WINDOW), 0xffffffffu);
}

TEST(child_container)
{
	uint16_t root = open_root(), child = 0, child2 = 0, bp = 0;
	struct fw_mc_portal cp;
	uint32_t id = 0;
	uint64_t gpa;

	REQUIRE(root, "open root");
	/* A parent may open its descendants through its own portal. */
	REQUIRE(fw_dprc_open(&root_portal, CHILD_ID, &child) == FW_MC_OK, "open child from root");
	scan_container(&root_portal, child, child_objects, CHILD_OBJECTS);
	fw_mc_close(&root_portal, child);
	/* The child's own portal is its region 0. */
	gpa = portal_of(&root_portal, root, "dprc", CHILD_ID);
	CHECK_EQ(gpa, MC_BASE + 3 * PORTAL_WINDOW);
	REQUIRE(gpa, "child portal");
	fw_mc_portal_init(&cp, gpa);
	CHECK(fw_dprc_get_container_id(&cp, &id) == FW_MC_OK && id == CHILD_ID,
	      "GET_CONT_ID via child portal gave %u", id);
	CHECK_EQ(fw_dprc_open(&cp, ROOT_ID, &child2), FW_MC_NO_PRIVILEGE);
	REQUIRE(fw_dprc_open(&cp, CHILD_ID, &child2) == FW_MC_OK, "open child via its portal");
	struct fw_dprc_attr attr;

	CHECK(fw_dprc_get_attributes(&cp, child2, &attr) == FW_MC_OK, "GET_ATTR");
	CHECK_EQ(attr.icid, CHILD_ICID);
	CHECK_EQ(attr.portal_id, 3);
	CHECK_EQ(fw_mc_open(&cp, "dpbp", 1, &bp), FW_MC_CONFIG_ERR); /* in the root, not here */
	CHECK_EQ(fw_mc_open(&cp, "dpbp", 2, &bp), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&cp, bp), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&cp, child2), FW_MC_OK);
	fw_mc_close(&root_portal, root);
}

/* fsl_mc_portal_allocate(): map the DPMCP's region 0, open it through itself. */
TEST(dpmcp_portal)
{
	uint16_t root = open_root(), mcp = 0, dprc = 0;
	struct fw_mc_portal p;
	uint32_t id = 0, count = 0;

	REQUIRE(root, "open root");
	uint64_t gpa = portal_of(&root_portal, root, "dpmcp", 1);

	fw_mc_close(&root_portal, root);
	REQUIRE(gpa == MC_BASE + PORTAL_WINDOW, "dpmcp.1 portal at %#llx", (unsigned long long)gpa);
	fw_mc_portal_init(&p, gpa);
	REQUIRE(fw_dpmcp_open(&p, 1, &mcp) == FW_MC_OK, "DPMCP OPEN through its portal");
	CHECK_EQ(fw_mc_reset(&p, mcp), FW_MC_OK);
	CHECK(fw_dprc_get_container_id(&p, &id) == FW_MC_OK && id == ROOT_ID, "cont id %u", id);
	/* Every portal speaks the whole protocol. */
	CHECK_EQ(fw_dprc_open(&p, ROOT_ID, &dprc), FW_MC_OK);
	CHECK(fw_dprc_get_obj_count(&p, dprc, &count) == FW_MC_OK && count == ROOT_OBJECTS,
	      "%u objects", count);
	CHECK_EQ(fw_mc_close(&p, dprc), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&p, mcp), FW_MC_OK);
}

static uint32_t obj_state(uint16_t root, uint32_t index)
{
	struct fw_mc_obj_desc d;

	return fw_dprc_get_obj(&root_portal, root, index, &d) == FW_MC_OK ? d.state : 0xdead;
}

TEST(sessions)
{
	uint16_t root = open_root(), a = 0, b = 0, other = 0;
	struct fw_mc_portal p;
	uint32_t count;

	REQUIRE(root, "open root");
	REQUIRE(fw_mc_open(&root_portal, "dpbp", 1, &a) == FW_MC_OK, "open dpbp.1");
	REQUIRE(fw_mc_open(&root_portal, "dpbp", 1, &b) == FW_MC_OK, "open dpbp.1 again");
	CHECK(a && b && a != b && a != root, "tokens %#x %#x %#x", root, a, b);
	CHECK_EQ(obj_state(root, 3), FW_MC_OBJ_STATE_PLUGGED | FW_MC_OBJ_STATE_OPEN);
	CHECK_EQ(fw_mc_close(&root_portal, a), FW_MC_OK);
	CHECK_EQ(obj_state(root, 3), FW_MC_OBJ_STATE_PLUGGED | FW_MC_OBJ_STATE_OPEN);
	CHECK_EQ(fw_mc_close(&root_portal, b), FW_MC_OK);
	CHECK_EQ(obj_state(root, 3), FW_MC_OBJ_STATE_PLUGGED);
	/* closed token, double close, token 0, a token never issued */
	CHECK_EQ(fw_mc_reset(&root_portal, a), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_mc_close(&root_portal, b), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_dprc_get_obj_count(&root_portal, 0, &count), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_dprc_get_obj_count(&root_portal, (uint16_t)(root ^ 0x5a5a), &count),
		 FW_MC_AUTH_ERR);
	/* a token is only good on the portal that opened it */
	fw_mc_portal_init(&p, MC_BASE + 2 * PORTAL_WINDOW);
	REQUIRE(fw_dprc_open(&p, ROOT_ID, &other) == FW_MC_OK, "open root via dpmcp.2");
	CHECK_EQ(fw_dprc_get_obj_count(&root_portal, other, &count), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_dprc_get_obj_count(&p, root, &count), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_mc_close(&p, other), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&root_portal, root), FW_MC_OK);
}

/* Every MC status the emulation gives, each from a hostile or wrong command. */
TEST(error_statuses)
{
	uint16_t root = open_root(), bp = 0, ni = 0, tok;
	uint64_t params[7] = { 0 };
	struct fw_mc_cmd cmd;
	struct fw_mc_region r;
	struct fw_mc_obj_desc d;

	REQUIRE(root, "open root");
	REQUIRE(fw_mc_open(&root_portal, "dpbp", 1, &bp) == FW_MC_OK, "open dpbp");
	REQUIRE(fw_mc_open(&root_portal, "dpni", 1, &ni) == FW_MC_OK, "open dpni");
	/* UNSUPPORTED_OP: unknown numbers, versions, commands of another type */
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD(0x123, 1), root, params), FW_MC_UNSUPPORTED_OP);
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD(0xfff, 1), 0, params), FW_MC_UNSUPPORTED_OP);
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD_DPRC_GET_OBJ_REG(4), root, params),
		 FW_MC_UNSUPPORTED_OP);
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD(0x830, 2), 0, params), FW_MC_UNSUPPORTED_OP);
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD_DPRC_GET_OBJ_COUNT, bp, params),
		 FW_MC_UNSUPPORTED_OP);
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD_ENABLE, ni, params), FW_MC_UNSUPPORTED_OP);
	/* CONFIG_ERR: bad parameters */
	CHECK_EQ(fw_dprc_get_obj(&root_portal, root, 99, &d), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_get_obj_region(&root_portal, root, 3, "dpmcp", 1, 5, &r), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_get_obj_region(&root_portal, root, 3, "dpxx", 1, 0, &r), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_get_obj_region(&root_portal, root, 3, "dpmcp", 3, 0, &r),
		 FW_MC_CONFIG_ERR); /* in the child container */
	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_OBJ_REG(3), root);
	memset((uint8_t *)cmd.params + 24, 'x', 16); /* type without NUL */
	CHECK_EQ(fw_mc_send(&root_portal, &cmd), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_mc_open(&root_portal, "dpni", 77, &tok), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_open(&root_portal, 77, &tok), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_mc_set_irq(&root_portal, root, 3, 0xfee00000, 0x40, 0), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_mc_set_irq_enable(&root_portal, root, 0, 2), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_mc_set_irq_mask(&root_portal, bp, 0, 1), FW_MC_CONFIG_ERR); /* no IRQs */
	CHECK_EQ(fw_dprc_reset_container(&root_portal, root, CHILD_ID, 0x4), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_reset_container(&root_portal, root, 77, -1), FW_MC_CONFIG_ERR);
	CHECK_EQ(fw_dprc_set_obj_irq(&root_portal, root, "dpni", 2, 0, 0xfee00000, 0x40, 0),
		 FW_MC_CONFIG_ERR);
	CHECK_EQ(hook_add(&root_portal, root, "dpni", 1, 1, 0), FW_MC_CONFIG_ERR); /* duplicate */
	CHECK_EQ(hook_remove(&root_portal, root, "dpni", 2), FW_MC_CONFIG_ERR);
	fw_mc_close(&root_portal, ni);
	fw_mc_close(&root_portal, bp);
	fw_mc_close(&root_portal, root);
}

/* NO_PRIVILEGE from a child portal; NO_RESOURCE when the sessions run out. */
TEST(privilege_and_resource_limits)
{
	struct fw_mc_portal cp;
	uint16_t child = 0, tokens[160];
	unsigned opened = 0;
	int st = FW_MC_OK;

	fw_mc_portal_init(&cp, MC_BASE + 3 * PORTAL_WINDOW);
	REQUIRE(fw_dprc_open(&cp, CHILD_ID, &child) == FW_MC_OK, "open child");
	CHECK_EQ(fw_dprc_reset_container(&cp, child, ROOT_ID, 1), FW_MC_NO_PRIVILEGE);
	fw_mc_close(&cp, child);
	while (opened < 160 && (st = fw_dprc_open(&root_portal, ROOT_ID, &tokens[opened])) == FW_MC_OK)
		opened++;
	CHECK_EQ(st, FW_MC_NO_RESOURCE);
	CHECK(opened >= 64 && opened < 160, "%u sessions before NO_RESOURCE", opened);
	diag("%u sessions open at once before NO_RESOURCE", opened);
	for (unsigned i = 0; i < opened; i++)
		CHECK_EQ(fw_mc_close(&root_portal, tokens[i]), FW_MC_OK);
	uint16_t again = open_root();

	CHECK(again != 0, "sessions not given back");
	fw_mc_close(&root_portal, again);
}

TEST(container_reset)
{
	struct fw_mc_portal cp;
	uint16_t root = open_root(), child = 0, bp = 0, self = 0;
	uint32_t count;

	REQUIRE(root, "open root");
	fw_mc_portal_init(&cp, MC_BASE + 3 * PORTAL_WINDOW);
	REQUIRE(fw_dprc_open(&cp, CHILD_ID, &child) == FW_MC_OK, "open child");
	REQUIRE(fw_mc_open(&cp, "dpbp", 2, &bp) == FW_MC_OK, "open dpbp.2");
	/* The parent resets the child: the child's handles are closed. */
	CHECK_EQ(fw_dprc_reset_container(&root_portal, root, CHILD_ID, 1), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&cp, bp), FW_MC_AUTH_ERR);
	CHECK_EQ(fw_dprc_get_obj_count(&cp, child, &count), FW_MC_AUTH_ERR);
	/* vfio-fsl-mc's reset: the container resets itself, non-recursively. */
	REQUIRE(fw_dprc_open(&cp, CHILD_ID, &self) == FW_MC_OK, "reopen child");
	CHECK_EQ(fw_dprc_reset_container(&cp, self, CHILD_ID, 1), FW_MC_OK);
	CHECK_EQ(fw_mc_close(&cp, self), FW_MC_OK);
	CHECK_EQ(fw_dprc_reset_container(&root_portal, root, CHILD_ID, -1), FW_MC_OK); /* v1 */
	CHECK_EQ(fw_mc_close(&root_portal, root), FW_MC_OK);
}

/* A hot-added DPMCP's portal works; once it is removed the window answers INVALID_STATE. */
TEST(hotplugged_dpmcp_portal)
{
	uint16_t root = open_root(), mcp = 0;
	struct fw_mc_portal p;
	uint32_t id = 0;

	REQUIRE(root, "open root");
	REQUIRE(hook_add(&root_portal, root, "dpmcp", 9, 1, 0) == FW_MC_OK, "hot-add dpmcp.9");
	uint64_t gpa = portal_of(&root_portal, root, "dpmcp", 9);

	REQUIRE(gpa, "dpmcp.9 has no portal");
	fw_mc_portal_init(&p, gpa);
	CHECK_EQ(fw_dpmcp_open(&p, 9, &mcp), FW_MC_OK);
	CHECK(fw_dprc_get_container_id(&p, &id) == FW_MC_OK && id == ROOT_ID, "cont id %u", id);
	CHECK_EQ(hook_remove(&root_portal, root, "dpmcp", 9), FW_MC_OK);
	CHECK_EQ(fw_dprc_get_container_id(&p, &id), FW_MC_INVALID_STATE);
	CHECK_EQ(fw_mc_close(&p, mcp), FW_MC_INVALID_STATE);
	fw_mc_portal_init(&p, MC_BASE + 15 * PORTAL_WINDOW); /* never assigned */
	CHECK_EQ(fw_dprc_get_container_id(&p, &id), FW_MC_INVALID_STATE);
	fw_mc_clear_irq_status(&root_portal, root, 0, ~0u);
	fw_mc_close(&root_portal, root);
}

TEST(dpbp_commands)
{
	uint16_t bp = 0;
	struct fw_mc_cmd cmd;

	REQUIRE(fw_mc_open(&root_portal, "dpbp", 1, &bp) == FW_MC_OK, "open dpbp.1");
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD_ENABLE, bp, NULL), FW_MC_OK);
	fw_mc_cmd_init(&cmd, FW_MC_CMD_IS_ENABLED, bp);
	CHECK(fw_mc_send(&root_portal, &cmd) == FW_MC_OK && fw_mc_get(&cmd, 0, 1) == 1, "enabled");
	fw_mc_cmd_init(&cmd, FW_MC_CMD_GET_ATTR, bp);
	REQUIRE(fw_mc_send(&root_portal, &cmd) == FW_MC_OK, "GET_ATTR");
	CHECK_EQ(fw_mc_get(&cmd, 2, 2), 1); /* bpid */
	CHECK_EQ(fw_mc_get(&cmd, 4, 4), 1); /* id */
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD_DISABLE, bp, NULL), FW_MC_OK);
	fw_mc_cmd_init(&cmd, FW_MC_CMD_IS_ENABLED, bp);
	CHECK(fw_mc_send(&root_portal, &cmd) == FW_MC_OK && fw_mc_get(&cmd, 0, 1) == 0, "disabled");
	CHECK_EQ(raw_send(&root_portal, FW_MC_CMD_ENABLE, bp, NULL), FW_MC_OK);
	CHECK_EQ(fw_mc_reset(&root_portal, bp), FW_MC_OK);
	fw_mc_cmd_init(&cmd, FW_MC_CMD_IS_ENABLED, bp);
	CHECK(fw_mc_send(&root_portal, &cmd) == FW_MC_OK && fw_mc_get(&cmd, 0, 1) == 0, "reset");
	CHECK_EQ(fw_mc_close(&root_portal, bp), FW_MC_OK);
}

TEST(connections)
{
	uint16_t root = open_root();
	char type[16];
	uint32_t id = 0;
	int32_t state = 0;

	REQUIRE(root, "open root");
	CHECK_EQ(fw_dprc_get_connection(&root_portal, root, "dpni", 1, type, &id, &state), FW_MC_OK);
	CHECK_STREQ(type, "dpmac");
	CHECK_EQ(id, 1);
	CHECK_EQ(state, 1);
	CHECK_EQ(fw_dprc_get_connection(&root_portal, root, "dpmac", 1, type, &id, &state), FW_MC_OK);
	CHECK_STREQ(type, "dpni");
	CHECK_EQ(fw_dprc_get_connection(&root_portal, root, "dpcon", 1, type, &id, &state), FW_MC_OK);
	CHECK_EQ(state, -1);
	CHECK_EQ(fw_dprc_get_connection(&root_portal, root, "dpcon", 9, type, &id, &state),
		 FW_MC_CONFIG_ERR);
	fw_mc_close(&root_portal, root);
}

/*
 * io-64-nonatomic-hi-lo: the header as two 32-bit writes, high dword first.
 * The high half alone is no doorbell; the low half (status) is.
 */
TEST(header_in_two_halves)
{
	volatile uint32_t *half = (volatile uint32_t *)root_portal.regs;
	uint64_t hdr = fw_mc_header(FW_MC_CMD_DPRC_GET_CONT_ID, 0, 0, 0);
	uint32_t id = 0;

	REQUIRE(mc_found, "no MC");
	REQUIRE(fw_dprc_get_container_id(&root_portal, &id) == FW_MC_OK, "warm-up");
	root_portal.regs[1] = 0x5555;
	half[1] = (uint32_t)(hdr >> 32);
	uint64_t deadline = tsc_after_us(2000);

	while (rdtsc() < deadline)
		cpu_relax();
	CHECK_EQ(fw_mc_hdr_status(root_portal.regs[0]), FW_MC_OK); /* the old status */
	CHECK_EQ(root_portal.regs[1], 0x5555);                      /* not executed */
	half[0] = (uint32_t)hdr;
	deadline = tsc_after_us(100000);
	while (fw_mc_hdr_status(root_portal.regs[0]) == FW_MC_READY && rdtsc() < deadline)
		cpu_relax();
	CHECK_EQ(fw_mc_hdr_status(root_portal.regs[0]), FW_MC_OK);
	CHECK_EQ(root_portal.regs[1] & 0xffffffff, ROOT_ID);
	root_portal.split_header = true;
	CHECK(fw_dprc_get_container_id(&root_portal, &id) == FW_MC_OK && id == ROOT_ID,
	      "split header through fw_mc_send");
	root_portal.split_header = false;
}
