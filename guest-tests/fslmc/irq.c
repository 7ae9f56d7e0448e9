// SPDX-License-Identifier: MIT
/*
 * fslmc interrupts: DPRC IRQ 0 set up in Linux's order, OBJ_ADDED and
 * OBJ_REMOVED events from the test hook delivered as MSIs, enable/mask
 * semantics, a child container's IRQ programmed by its parent
 * (SET_OBJ_IRQ), DPMCP command-completion IRQs and INTR_DIS, and an
 * object IRQ asserted by the test hook.
 *
 * Delivery is observed in the LAPIC IRR (xAPIC page, read at CPL 3): the
 * APIC is software-enabled with TPR 0xf0, so each vector stays pending in
 * IRR and is never delivered. Each check uses a fresh vector.
 */
#include "mctest.h"

#define MSI_ADDR      0xfee00000ull
#define WAIT_US       100000 /* an MSI through irqfd lands within microseconds */
#define QUIET_US      20000  /* how long "no interrupt" is watched */

static unsigned next_vector = 0x40;

static unsigned fresh_vector(void)
{
	while (apic_irr(next_vector) && next_vector < 0xe0)
		next_vector++;
	return next_vector++;
}

/* dprc_setup_irq() + the MSI write (fsl_mc_msi_write_msg): Linux's order. */
static bool linux_irq_setup(struct fw_mc_portal *p, uint16_t token, unsigned vector)
{
	return CHECK_EQ(fw_mc_set_irq_enable(p, token, 0, 0), FW_MC_OK) &&
	       CHECK_EQ(fw_mc_set_irq_mask(p, token, 0, 0), FW_MC_OK) &&
	       CHECK_EQ(fw_mc_clear_irq_status(p, token, 0, ~0u), FW_MC_OK) &&
	       CHECK_EQ(fw_mc_set_irq(p, token, 0, MSI_ADDR, vector, 0), FW_MC_OK) &&
	       CHECK_EQ(fw_mc_set_irq_mask(p, token, 0, ~0u), FW_MC_OK) &&
	       CHECK_EQ(fw_mc_set_irq_enable(p, token, 0, 1), FW_MC_OK);
}

static uint32_t irq_status(struct fw_mc_portal *p, uint16_t token, uint8_t index)
{
	uint32_t status = 0xdeadbeef;

	fw_mc_get_irq_status(p, token, index, &status);
	return status;
}

TEST(dprc_events_as_msis)
{
	uint16_t root = open_root();
	uint32_t count = 0;
	unsigned v;

	REQUIRE(root, "open root");
	apic_enable_and_block();
	v = fresh_vector();
	REQUIRE(linux_irq_setup(&root_portal, root, v), "IRQ set-up");
	CHECK(!apic_irr(v), "vector %#x pending before any event", v);
	REQUIRE(hook_add(&root_portal, root, "dpni", 9, 1, 0) == FW_MC_OK, "hot-add dpni.9");
	CHECK(apic_wait_irr(v, WAIT_US), "no MSI (vector %#x) for OBJ_ADDED", v);
	CHECK_EQ(irq_status(&root_portal, root, 0), FW_DPRC_IRQ_EVENT_OBJ_ADDED);
	CHECK_EQ(fw_mc_clear_irq_status(&root_portal, root, 0, ~0u), FW_MC_OK);
	CHECK_EQ(irq_status(&root_portal, root, 0), 0);
	CHECK(fw_dprc_get_obj_count(&root_portal, root, &count) == FW_MC_OK &&
	      count == ROOT_OBJECTS + 1, "%u objects after hot-add", count);

	v = fresh_vector();
	CHECK_EQ(fw_mc_set_irq(&root_portal, root, 0, MSI_ADDR, v, 0), FW_MC_OK);
	REQUIRE(hook_remove(&root_portal, root, "dpni", 9) == FW_MC_OK, "hot-remove dpni.9");
	CHECK(apic_wait_irr(v, WAIT_US), "no MSI (vector %#x) for OBJ_REMOVED", v);
	CHECK_EQ(irq_status(&root_portal, root, 0), FW_DPRC_IRQ_EVENT_OBJ_REMOVED);
	CHECK(fw_dprc_get_obj_count(&root_portal, root, &count) == FW_MC_OK &&
	      count == ROOT_OBJECTS, "%u objects after hot-remove", count);
	fw_mc_clear_irq_status(&root_portal, root, 0, ~0u);
	fw_mc_close(&root_portal, root);
}

TEST(disabled_and_masked_events_wait)
{
	uint16_t root = open_root();
	unsigned v = fresh_vector();

	REQUIRE(root, "open root");
	apic_enable_and_block();
	CHECK_EQ(fw_mc_set_irq_enable(&root_portal, root, 0, 0), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq(&root_portal, root, 0, MSI_ADDR, v, 0), FW_MC_OK);
	REQUIRE(hook_add(&root_portal, root, "dpbp", 9, 0, 0) == FW_MC_OK, "hot-add dpbp.9");
	CHECK(!apic_wait_irr(v, QUIET_US), "MSI while the IRQ is disabled");
	CHECK_EQ(irq_status(&root_portal, root, 0), FW_DPRC_IRQ_EVENT_OBJ_ADDED);
	CHECK_EQ(fw_mc_set_irq_enable(&root_portal, root, 0, 1), FW_MC_OK);
	CHECK(apic_wait_irr(v, WAIT_US), "pending event not delivered on enable");

	v = fresh_vector();
	CHECK_EQ(fw_mc_clear_irq_status(&root_portal, root, 0, ~0u), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq(&root_portal, root, 0, MSI_ADDR, v, 0), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq_mask(&root_portal, root, 0, FW_DPRC_IRQ_EVENT_OBJ_ADDED), FW_MC_OK);
	REQUIRE(hook_remove(&root_portal, root, "dpbp", 9) == FW_MC_OK, "hot-remove dpbp.9");
	CHECK(!apic_wait_irr(v, QUIET_US), "MSI for a masked event");
	CHECK_EQ(fw_mc_set_irq_mask(&root_portal, root, 0, ~0u), FW_MC_OK);
	CHECK(apic_wait_irr(v, WAIT_US), "pending event not delivered on unmask");
	fw_mc_clear_irq_status(&root_portal, root, 0, ~0u);
	fw_mc_set_irq_enable(&root_portal, root, 0, 0);
	fw_mc_close(&root_portal, root);
}

/* A child container's IRQ: programmed by the parent, enabled by the child. */
TEST(child_container_irq)
{
	struct fw_mc_portal cp;
	uint16_t root = open_root(), child = 0;
	unsigned v = fresh_vector();

	REQUIRE(root, "open root");
	apic_enable_and_block();
	fw_mc_portal_init(&cp, MC_BASE + 3 * PORTAL_WINDOW);
	REQUIRE(fw_dprc_open(&cp, CHILD_ID, &child) == FW_MC_OK, "open child");
	CHECK_EQ(fw_mc_set_irq_enable(&cp, child, 0, 0), FW_MC_OK);
	CHECK_EQ(fw_mc_clear_irq_status(&cp, child, 0, ~0u), FW_MC_OK);
	CHECK_EQ(fw_dprc_set_obj_irq(&root_portal, root, "dprc", CHILD_ID, 0, MSI_ADDR, v, 0),
		 FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq_mask(&cp, child, 0, ~0u), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq_enable(&cp, child, 0, 1), FW_MC_OK);
	REQUIRE(hook_add(&cp, child, "dpcon", 7, 1, 0) == FW_MC_OK, "hot-add into the child");
	CHECK(apic_wait_irr(v, WAIT_US), "no MSI for the child's OBJ_ADDED");
	CHECK_EQ(irq_status(&cp, child, 0), FW_DPRC_IRQ_EVENT_OBJ_ADDED);
	CHECK_EQ(hook_remove(&cp, child, "dpcon", 7), FW_MC_OK);
	fw_mc_set_irq_enable(&cp, child, 0, 0);
	fw_mc_close(&cp, child);
	fw_mc_close(&root_portal, root);
}

/* DPMCP IRQ 0 fires when a command completes on its portal without INTR_DIS. */
TEST(dpmcp_completion_irq)
{
	struct fw_mc_portal p;
	struct fw_mc_cmd cmd;
	uint16_t root = open_root(), mcp = 0;
	unsigned v = fresh_vector();

	REQUIRE(root, "open root");
	apic_enable_and_block();
	CHECK_EQ(fw_dprc_set_obj_irq(&root_portal, root, "dpmcp", 2, 0, MSI_ADDR, v, 7), FW_MC_OK);
	fw_mc_portal_init(&p, MC_BASE + 2 * PORTAL_WINDOW);
	REQUIRE(fw_dpmcp_open(&p, 2, &mcp) == FW_MC_OK, "open dpmcp.2");
	CHECK_EQ(fw_mc_clear_irq_status(&p, mcp, 0, ~0u), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq_mask(&p, mcp, 0, FW_DPMCP_IRQ_EVENT_CMD_DONE), FW_MC_OK);
	/* These commands lack INTR_DIS: each completes with CMD_DONE; enabling delivers. */
	CHECK_EQ(fw_mc_set_irq_enable(&p, mcp, 0, 1), FW_MC_OK);
	CHECK(apic_wait_irr(v, WAIT_US), "no completion MSI");
	v = fresh_vector();
	CHECK_EQ(fw_dprc_set_obj_irq(&root_portal, root, "dpmcp", 2, 0, MSI_ADDR, v, 7), FW_MC_OK);
	fw_mc_cmd_init(&cmd, FW_MC_CMD_CLEAR_IRQ_STATUS, mcp);
	cmd.header = fw_mc_header(FW_MC_CMD_CLEAR_IRQ_STATUS, mcp, 0, FW_MC_FLAG_INTR_DIS);
	fw_mc_put(&cmd, 0, 4, ~0u);
	CHECK_EQ(fw_mc_send(&p, &cmd), FW_MC_OK);
	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_CONT_ID, 0);
	cmd.header = fw_mc_header(FW_MC_CMD_DPRC_GET_CONT_ID, 0, 0, FW_MC_FLAG_INTR_DIS);
	CHECK_EQ(fw_mc_send(&p, &cmd), FW_MC_OK);
	CHECK(!apic_wait_irr(v, QUIET_US), "completion MSI despite INTR_DIS");
	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_CONT_ID, 0);
	CHECK_EQ(fw_mc_send(&p, &cmd), FW_MC_OK);
	CHECK(apic_wait_irr(v, WAIT_US), "no completion MSI without INTR_DIS");
	CHECK_EQ(irq_status(&p, mcp, 0) & FW_DPMCP_IRQ_EVENT_CMD_DONE, FW_DPMCP_IRQ_EVENT_CMD_DONE);
	fw_mc_set_irq_enable(&p, mcp, 0, 0);
	CHECK_EQ(fw_mc_close(&p, mcp), FW_MC_OK);
	fw_mc_close(&root_portal, root);
}

/* Object IRQs: SET_OBJ_IRQ on a child object, enabled through its own token. */
TEST(object_irq)
{
	uint16_t root = open_root(), io = 0;
	unsigned v = fresh_vector();

	REQUIRE(root, "open root");
	apic_enable_and_block();
	REQUIRE(fw_mc_open(&root_portal, "dpio", 1, &io) == FW_MC_OK, "open dpio.1");
	CHECK_EQ(fw_dprc_set_obj_irq(&root_portal, root, "dpio", 1, 0, MSI_ADDR, v, 3), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq_mask(&root_portal, io, 0, ~0u), FW_MC_OK);
	CHECK_EQ(fw_mc_set_irq_enable(&root_portal, io, 0, 1), FW_MC_OK);
	CHECK_EQ(hook_assert_irq(&root_portal, root, "dpio", 1, 0, 0x4), FW_MC_OK);
	CHECK(apic_wait_irr(v, WAIT_US), "no MSI for the dpio IRQ");
	CHECK_EQ(irq_status(&root_portal, io, 0), 0x4);
	/* A non-interrupt address is accepted; the MSI is dropped by the VMM. */
	CHECK_EQ(fw_dprc_set_obj_irq(&root_portal, root, "dpio", 1, 0, 0x1000, 0, 3), FW_MC_OK);
	CHECK_EQ(hook_assert_irq(&root_portal, root, "dpio", 1, 0, 0x8), FW_MC_OK);
	CHECK_EQ(hook_assert_irq(&root_portal, root, "dpio", 1, 1, 0x8), FW_MC_CONFIG_ERR);
	fw_mc_reset(&root_portal, io);
	fw_mc_close(&root_portal, io);
	fw_mc_close(&root_portal, root);
}
