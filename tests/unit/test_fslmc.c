/* SPDX-License-Identifier: MIT */
/*
 * fsl-mc: config validation, the object model and command decoder driven
 * directly (every command followed by fslmc_check), and the device on a
 * real KVM VM in both portal modes (polled: a poller answers a command
 * written to the portal page; trapped: MMIO writes through the bus), with
 * unrealize giving back the memslot, the poller and every MSI.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/device.h"
#include "devices/fslmc/fslmc.h"
#include "kvm_fixture.h"
#include "suites.h"
#include "vmm/config/config.h"
#include "vmm/vm.h"

static const char tree_toml[] =
	"[devices.mc]\n"
	"type = \"fsl-mc\"\n"
	"test_hook = true\n"
	"[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 1\n"
	"[[devices.mc.objects]]\ntype = \"dpio\"\nid = 1\nregions = 2\nregion_size = \"16K\"\n"
	"[[devices.mc.objects]]\ntype = \"dpbp\"\nid = 1\n"
	"[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nlabel = \"eth0\"\nconnect = \"dpmac.1\"\n"
	"[[devices.mc.objects]]\ntype = \"dpmac\"\nid = 1\n"
	/* a child container named before its parent container exists */
	"[[devices.mc.objects]]\ntype = \"dpbp\"\nid = 3\ncontainer = 3\n"
	"[[devices.mc.objects]]\ntype = \"dprc\"\nid = 3\ncontainer = 2\n"
	"[[devices.mc.objects]]\ntype = \"dprc\"\nid = 2\nicid = 7\n"
	"[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 2\ncontainer = 2\n";

/* ---- helpers ---- */

static struct config_error error;

static int parse_config(const char *text, struct fslmc_config *config)
{
	struct toml_error terr;
	struct toml_table *root = toml_parse(text, strlen(text), &terr);
	struct config_context ctx = { .path = "t.toml", .dir = ".", .error = &error };
	int rc;

	error.message[0] = '\0';
	ck_assert_msg(root, "toml: %s", terr.message);
	const struct toml_value *devices = toml_table_get(root, "devices");
	const struct toml_value *mc = devices ? toml_table_get(devices->u.table, "mc") : NULL;

	ck_assert(mc && mc->type == TOML_TABLE);
	rc = fslmc_config_parse(config, "mc", mc->u.table, &ctx);
	toml_table_free(root);
	return rc;
}

struct hook_log {
	unsigned raised[FSLMC_MAX_OBJECTS][FSLMC_MAX_IRQS];
	unsigned programmed, released, portals, windows;
	uint64_t last_addr;
	uint32_t last_data;
};

static int log_program(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data)
{
	struct hook_log *log = opaque;

	log->programmed++;
	log->last_addr = addr;
	log->last_data = data;
	return 0;
}

static void log_raise(void *opaque, unsigned obj, unsigned irq)
{
	((struct hook_log *)opaque)->raised[obj][irq]++;
}

static void log_released(void *opaque, unsigned obj) { ((struct hook_log *)opaque)->released++; }
static void log_portal(void *opaque, unsigned p) { ((struct hook_log *)opaque)->portals++; }
static void log_window(void *opaque, unsigned w) { ((struct hook_log *)opaque)->windows++; }

static struct fslmc_config config;
static struct fslmc mc;
static struct hook_log hooks_seen;

static void model_setup(void)
{
	const struct fslmc_hooks hooks = {
		.irq_program = log_program, .irq_raise = log_raise, .obj_released = log_released,
		.portal_assigned = log_portal, .window_assigned = log_window, .opaque = &hooks_seen,
	};

	memset(&hooks_seen, 0, sizeof(hooks_seen));
	ck_assert_int_eq(parse_config(tree_toml, &config), 0);
	ck_assert_int_eq(fslmc_init(&mc, &config, &hooks), 0);
}

static void model_teardown(void)
{
	fslmc_clear(&mc);
	fslmc_config_free(&config);
}

static void assert_consistent(void)
{
	char why[256] = "";

	ck_assert_msg(fslmc_check(&mc, why, sizeof(why)) == 0, "tree broken: %s", why);
}

static struct fslmc_cmd cmd(uint16_t cmd_id, uint16_t token)
{
	return (struct fslmc_cmd){ .header = mc_hdr_encode(cmd_id, token, 0, 0, MC_READY) };
}

static uint8_t run_on(unsigned portal, struct fslmc_cmd *c)
{
	uint8_t status = fslmc_execute(&mc, portal, c);

	ck_assert_uint_eq(mc_hdr_status(c->header), status);
	assert_consistent();
	return status;
}

static uint8_t run(struct fslmc_cmd *c)
{
	return run_on(0, c);
}

static uint16_t open_on(unsigned portal, uint16_t open_id, uint32_t id)
{
	struct fslmc_cmd c = cmd(open_id, 0);

	mc_put(c.params, 0, 4, id);
	ck_assert_uint_eq(run_on(portal, &c), MC_OK);
	ck_assert_uint_ne(mc_hdr_token(c.header), 0);
	return mc_hdr_token(c.header);
}

static uint16_t open_root(void)
{
	return open_on(0, MC_CMD_ID(0x805, 1), 1);
}

static void put_type(struct fslmc_cmd *c, unsigned off, const char *type)
{
	strncpy((char *)c->params + off, type, MC_TYPE_LEN);
}

/* ---- config ---- */

START_TEST(config_defaults_and_tree)
{
	ck_assert_int_eq(parse_config(tree_toml, &config), 0);
	ck_assert_uint_eq(config.base, 0xf0000000);
	ck_assert(config.polled);
	ck_assert_uint_eq(config.root_id, 1);
	ck_assert_uint_eq(config.dprc_major, 6);
	ck_assert_uint_eq(config.dprc_minor, 6);
	ck_assert_uint_eq(config.object_count, 9);
	ck_assert_uint_eq(config.objects[1].region_count, 2);
	ck_assert_uint_eq(config.objects[1].region_size, 0x4000);
	ck_assert_uint_eq(config.objects[3].connect_kind, FSLMC_DPMAC);
	ck_assert_str_eq(config.objects[3].label, "eth0");
	ck_assert_uint_eq(config.objects[7].icid, 7);
	ck_assert_uint_eq(config.objects[0].region_count, 1); /* dpmcp: its portal */
	fslmc_config_free(&config);
}
END_TEST

static const struct {
	const char *objects;   /* appended after a valid header */
	const char *message;   /* expected substring */
} bad_configs[] = {
	{ "[[devices.mc.objects]]\ntype = \"dpxx\"\nid = 1\n", "unknown fsl-mc object type" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\n", "needs an 'id'" },
	{ "[[devices.mc.objects]]\nid = 1\n", "needs a 'type'" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\n[[devices.mc.objects]]\n"
	  "type = \"dpni\"\nid = 1\n", "defined twice" },
	{ "[[devices.mc.objects]]\ntype = \"dprc\"\nid = 1\n", "defined twice" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\ncontainer = 9\n", "no dprc reachable" },
	{ "[[devices.mc.objects]]\ntype = \"dprc\"\nid = 2\ncontainer = 3\n"
	  "[[devices.mc.objects]]\ntype = \"dprc\"\nid = 3\ncontainer = 2\n", "no dprc reachable" },
	{ "[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 1\nregions = 2\n", "exactly one region" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nlabel = \"0123456789abcdef\"\n",
	  "at most 15" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nversion = \"7\"\n", "not a version" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nconnect = \"dpmac.2\"\n",
	  "names no other" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nconnect = \"dpmac\"\n", "TYPE.ID" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nicid = 3\n", "for type = \"dprc\"" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nirqs = 9\n", "out of range" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nregion_size = \"6K\"\n", "multiple of 4K" },
	{ "[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\ncolour = 1\n", "unknown key 'colour'" },
	{ "base = 0xf0001000\n", "64K-aligned" },
	{ "base = 0xc0000000\n", "out of range" },
	{ "portal = \"fast\"\n", "polled" },
	{ "dprc_version = \"5.9\"\n", "major must be 6" },
	{ "objects = 3\n", "array of tables" },
};

START_TEST(config_errors)
{
	char text[512];

	snprintf(text, sizeof(text), "[devices.mc]\ntype = \"fsl-mc\"\n%s", bad_configs[_i].objects);
	ck_assert_int_eq(parse_config(text, &config), -EINVAL);
	ck_assert_msg(strstr(error.message, bad_configs[_i].message), "case %d: '%s' lacks '%s'",
		      _i, error.message, bad_configs[_i].message);
	fslmc_config_free(&config);
}
END_TEST

START_TEST(config_too_many_portals)
{
	char text[8192] = "[devices.mc]\ntype = \"fsl-mc\"\n";

	for (int i = 1; i <= FSLMC_MAX_PORTALS; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = %d\n", i);
	ck_assert_int_eq(parse_config(text, &config), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error.message, "too many portals"));
	fslmc_config_free(&config);
}
END_TEST

/* ---- model and commands ---- */

START_TEST(tree_from_config)
{
	int child = fslmc_find_container(&mc, 2), grandchild = fslmc_find_container(&mc, 3);

	assert_consistent();
	ck_assert_int_ge(child, 1);
	ck_assert_int_eq(mc.objs[grandchild].parent, child);
	ck_assert_int_eq(mc.objs[fslmc_find(&mc, FSLMC_DPBP, 3)].parent, grandchild);
	ck_assert_int_eq(mc.objs[fslmc_find(&mc, FSLMC_DPNI, 1)].peer, fslmc_find(&mc, FSLMC_DPMAC, 1));
	/* portals: root, dpmcp.1, dprc.2, dpmcp.2, dprc.3 */
	unsigned live = 0;

	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++)
		live += mc.portal_owner[p] >= 0;
	ck_assert_uint_eq(live, 5);
	ck_assert_uint_eq(hooks_seen.portals, 5);
	ck_assert_uint_eq(hooks_seen.windows, 2);
	ck_assert_int_eq(fslmc_portal_container(&mc, (unsigned)mc.objs[child].portal), child);
	ck_assert_int_eq(fslmc_portal_container(&mc,
			 (unsigned)mc.objs[fslmc_find(&mc, FSLMC_DPMCP, 2)].portal), child);
}
END_TEST

START_TEST(header_encoding)
{
	uint64_t h = mc_hdr_encode(MC_CMD_ID(0x805, 1), 0xabcd, MC_FLAG_HW_PRI,
				   MC_FLAG_SW_INTR_DIS, MC_READY);

	ck_assert_uint_eq(h, 0x8051abcd01018000ull);
	ck_assert_uint_eq(mc_hdr_cmd_id(h), 0x8051);
	ck_assert_uint_eq(mc_cmd_number(0x8051), 0x805);
	ck_assert_uint_eq(mc_cmd_version(0x15e3), 3);
	ck_assert_uint_eq(mc_hdr_token(h), 0xabcd);
	ck_assert_uint_eq(mc_hdr_status(mc_hdr_set_status(h, MC_AUTH_ERR)), MC_AUTH_ERR);
	ck_assert_uint_eq(mc_hdr_token(mc_hdr_set_token(h, 7)), 7);
	ck_assert_uint_eq(mc_hdr_flags_sw(h), MC_FLAG_SW_INTR_DIS);
}
END_TEST

START_TEST(tokenless_commands)
{
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x831, 1), 0);

	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 4, 4), 10);
	ck_assert_uint_eq(mc_get(c.params, 8, 4), 32);
	c = cmd(MC_CMD_ID(0x830, 1), 0);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 1);
	c = cmd(MC_CMD_ID(0xa05, 1), 0);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 2), 6);
	ck_assert_uint_eq(mc_get(c.params, 2, 2), 6);
	/* the response keeps cmd_id and flags */
	ck_assert_uint_eq(mc_hdr_cmd_id(c.header), 0xa051);
	c = cmd(MC_CMD_ID(0xa0b, 1), 0); /* DPMCP API version */
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 2), 4);
	c = cmd(MC_CMD_ID(0x830, 2), 0);
	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
}
END_TEST

START_TEST(sessions_and_auth)
{
	uint16_t root = open_root(), again = open_root();
	struct fslmc_cmd c;
	int dpmcp = fslmc_find(&mc, FSLMC_DPMCP, 1);
	unsigned mcp_portal = (unsigned)mc.objs[dpmcp].portal;

	ck_assert_uint_ne(root, again);
	ck_assert_uint_eq(mc.objs[0].sessions, 2);
	c = cmd(MC_CMD_ID(0x159, 1), root);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 4, 4), 6); /* dpmcp, dpio, dpbp, dpni, dpmac, dprc.2 */
	/* the token belongs to portal 0 */
	c = cmd(MC_CMD_ID(0x159, 1), root);
	ck_assert_uint_eq(run_on(mcp_portal, &c), MC_AUTH_ERR);
	c = cmd(MC_CMD_CLOSE << 4 | 1, root);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_hdr_token(c.header), root);
	c = cmd(MC_CMD_CLOSE << 4 | 1, root);
	ck_assert_uint_eq(run(&c), MC_AUTH_ERR);
	c = cmd(MC_CMD_ID(0x159, 1), 0);
	ck_assert_uint_eq(run(&c), MC_AUTH_ERR);
	/* unknown beats bad token */
	c = cmd(MC_CMD_ID(0x777, 1), 0x1234);
	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
	/* DPMCP open through its own portal */
	uint16_t mcp = open_on(mcp_portal, MC_CMD_ID(0x80b, 1), 1);

	c = cmd(MC_CMD_ID(0x005, 1), mcp);
	ck_assert_uint_eq(run_on(mcp_portal, &c), MC_OK);
	/* a DPRC command on a DPMCP token */
	c = cmd(MC_CMD_ID(0x159, 1), mcp);
	ck_assert_uint_eq(run_on(mcp_portal, &c), MC_UNSUPPORTED_OP);
	/* a dpmcp in another container cannot be opened here */
	c = cmd(MC_CMD_ID(0x80b, 1), 0);
	mc_put(c.params, 0, 4, 2);
	ck_assert_uint_eq(run_on(mcp_portal, &c), MC_CONFIG_ERR);
}
END_TEST

START_TEST(session_exhaustion)
{
	struct fslmc_cmd c;
	unsigned opened = 0;

	for (;;) {
		c = cmd(MC_CMD_ID(0x805, 1), 0);
		mc_put(c.params, 0, 4, 1);
		if (run(&c) != MC_OK)
			break;
		opened++;
	}
	ck_assert_uint_eq(mc_hdr_status(c.header), MC_NO_RESOURCE);
	ck_assert_uint_eq(opened, FSLMC_MAX_SESSIONS);
}
END_TEST

START_TEST(get_obj_and_regions)
{
	uint16_t root = open_root();
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x15a, 1), root);

	mc_put(c.params, 0, 4, 1); /* dpio.1 */
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 4, 4), 1);
	ck_assert_uint_eq(mc_get(c.params, 8, 2), 0x1957);
	ck_assert_uint_eq(c.params[10], 1);
	ck_assert_uint_eq(c.params[11], 2);
	ck_assert_uint_eq(mc_get(c.params, 12, 4), MC_OBJ_STATE_PLUGGED);
	ck_assert_str_eq((char *)c.params + 24, "dpio");
	for (unsigned v = 1; v <= 3; v++) {
		c = cmd(MC_CMD_ID(0x15e, v), root);
		put_type(&c, 24, "dpio");
		mc_put(c.params, 0, 4, 1);
		c.params[6] = 1;
		ck_assert_uint_eq(run(&c), MC_OK);
		ck_assert_uint_eq(mc_get(c.params, 16, 4), v == 3 ? 0x4000 : 0x1000);
		ck_assert_uint_eq(c.params[20], MC_REGION_QBMAN_PORTAL);
		ck_assert_uint_eq(mc_get(c.params, 32, 8), v == 1 ? 0 : 0xf0000000 + FSLMC_PORTAL_AREA);
		ck_assert_uint_eq(mc_get(c.params, 8, 8) % FSLMC_WINDOW_SIZE, 0);
	}
	c = cmd(MC_CMD_ID(0x15e, 4), root);
	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
	c = cmd(MC_CMD_ID(0x15e, 3), root);
	put_type(&c, 24, "dpio");
	mc_put(c.params, 0, 4, 1);
	c.params[6] = 2;
	ck_assert_uint_eq(run(&c), MC_CONFIG_ERR);
	c = cmd(MC_CMD_ID(0x15a, 1), root);
	mc_put(c.params, 0, 4, 6);
	ck_assert_uint_eq(run(&c), MC_CONFIG_ERR);
}
END_TEST

/* An older advertised API refuses the newer GET_OBJ_REG versions. */
START_TEST(api_version_gates_commands)
{
	config.dprc_minor = 2;
	uint16_t root = open_root();
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x15e, 2), root);

	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
	c = cmd(MC_CMD_ID(0x005, 2), root);
	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
	c = cmd(MC_CMD_ID(0x15e, 1), root);
	put_type(&c, 24, "dpmcp");
	mc_put(c.params, 0, 4, 1);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 16, 4), 0x40);
}
END_TEST

START_TEST(irq_state_machine_and_events)
{
	uint16_t root = open_root();
	struct fslmc_cmd c;
	struct {
		uint16_t id;
		uint32_t value;
	} linux_order[] = {
		{ MC_CMD_ID(0x012, 1), 0 }, { MC_CMD_ID(0x014, 1), 0 }, { MC_CMD_ID(0x017, 1), ~0u },
	};

	for (unsigned i = 0; i < 3; i++) {
		c = cmd(linux_order[i].id, root);
		mc_put(c.params, 0, 4, linux_order[i].value);
		ck_assert_uint_eq(run(&c), MC_OK);
	}
	c = cmd(MC_CMD_ID(0x010, 1), root);
	mc_put(c.params, 0, 4, 0x45);
	mc_put(c.params, 8, 8, 0xfee00000);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(hooks_seen.programmed, 1);
	ck_assert_uint_eq(hooks_seen.last_data, 0x45);
	/* an event while disabled: status only */
	struct fslmc_new_obj desc = { .kind = FSLMC_DPNI, .id = 9, .irq_count = 1 };

	ck_assert_uint_eq(fslmc_obj_add(&mc, 0, &desc), MC_OK);
	assert_consistent();
	ck_assert_uint_eq(mc.objs[0].irqs[0].status, DPRC_IRQ_EVENT_OBJ_ADDED);
	ck_assert_uint_eq(hooks_seen.raised[0][0], 0);
	c = cmd(MC_CMD_ID(0x014, 1), root);
	mc_put(c.params, 0, 4, ~0u);
	ck_assert_uint_eq(run(&c), MC_OK);
	c = cmd(MC_CMD_ID(0x012, 1), root);
	c.params[0] = 1;
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(hooks_seen.raised[0][0], 1); /* pending when enabled */
	ck_assert_uint_eq(fslmc_obj_remove(&mc, fslmc_find(&mc, FSLMC_DPNI, 9)), MC_OK);
	assert_consistent();
	ck_assert_uint_eq(hooks_seen.raised[0][0], 2);
	c = cmd(MC_CMD_ID(0x016, 1), root);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 3);
	c = cmd(MC_CMD_ID(0x017, 1), root);
	mc_put(c.params, 0, 4, 1);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc.objs[0].irqs[0].status, 2);
	/* bad index, bad enable value */
	c = cmd(MC_CMD_ID(0x012, 1), root);
	c.params[4] = 1;
	ck_assert_uint_eq(run(&c), MC_CONFIG_ERR);
	c = cmd(MC_CMD_ID(0x012, 1), root);
	c.params[0] = 2;
	ck_assert_uint_eq(run(&c), MC_CONFIG_ERR);
}
END_TEST

START_TEST(set_obj_irq_and_completion_irq)
{
	uint16_t root = open_root();
	int dpmcp = fslmc_find(&mc, FSLMC_DPMCP, 1);
	unsigned portal = (unsigned)mc.objs[dpmcp].portal;
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x15f, 1), root);

	mc_put(c.params, 0, 4, 0x50);
	mc_put(c.params, 8, 8, 0xfee00000);
	mc_put(c.params, 20, 4, 1);
	put_type(&c, 24, "dpmcp");
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc.objs[dpmcp].irqs[0].data, 0x50);
	mc.objs[dpmcp].irqs[0].enabled = true;
	mc.objs[dpmcp].irqs[0].mask = DPMCP_IRQ_EVENT_CMD_DONE;
	c = cmd(MC_CMD_ID(0x830, 1), 0);
	ck_assert_uint_eq(run_on(portal, &c), MC_OK);
	ck_assert_uint_eq(hooks_seen.raised[dpmcp][0], 1);
	c.header = mc_hdr_encode(MC_CMD_ID(0x830, 1), 0, 0, MC_FLAG_SW_INTR_DIS, MC_READY);
	ck_assert_uint_eq(run_on(portal, &c), MC_OK);
	ck_assert_uint_eq(hooks_seen.raised[dpmcp][0], 1); /* INTR_DIS: no completion IRQ */
	c = cmd(MC_CMD_ID(0x15f, 1), root);
	mc_put(c.params, 20, 4, 1);
	put_type(&c, 24, "dpni"); /* dpni.1 has one IRQ: index 1 is bad */
	c.params[4] = 1;
	ck_assert_uint_eq(run(&c), MC_CONFIG_ERR);
}
END_TEST

START_TEST(hotplug_and_recursive_remove)
{
	uint16_t root = open_root();
	int child = fslmc_find_container(&mc, 2);
	unsigned child_portal = (unsigned)mc.objs[child].portal;
	uint16_t child_token = open_on(child_portal, MC_CMD_ID(0x805, 1), 2);
	struct fslmc_cmd c = cmd(MC_CMD_ID(0xe01, 1), root);

	/* add a dpmcp: it gets a portal */
	mc_put(c.params, 0, 4, 7);
	put_type(&c, 24, "dpmcp");
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_int_ge(mc.objs[fslmc_find(&mc, FSLMC_DPMCP, 7)].portal, 1);
	ck_assert_uint_eq(run(&c), MC_CONFIG_ERR); /* again: duplicate */
	/* remove dprc.2: dprc.3, dpbp.3 and dpmcp.2 go too, and the child's session */
	unsigned before = hooks_seen.released;

	c = cmd(MC_CMD_ID(0xe02, 1), root);
	mc_put(c.params, 0, 4, 2);
	put_type(&c, 24, "dprc");
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(hooks_seen.released - before, 4);
	ck_assert_int_lt(fslmc_find_container(&mc, 3), 0);
	c = cmd(MC_CMD_ID(0x159, 1), child_token);
	ck_assert_uint_eq(run_on(child_portal, &c), MC_INVALID_STATE); /* dead portal */
	ck_assert_uint_eq(mc.objs[0].irqs[0].status, DPRC_IRQ_EVENT_OBJ_ADDED |
			  DPRC_IRQ_EVENT_OBJ_REMOVED);
	/* the test hook off: the commands do not exist */
	config.test_hook = false;
	c = cmd(MC_CMD_ID(0xe02, 1), root);
	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
	/* fill up */
	struct fslmc_new_obj desc = { .kind = FSLMC_DPCON };
	uint8_t st;

	while ((st = fslmc_obj_add(&mc, 0, &desc)) == MC_OK)
		desc.id++;
	ck_assert_uint_eq(st, MC_NO_RESOURCE);
	assert_consistent();
	ck_assert_int_eq(fslmc_reset(&mc), 0);
	assert_consistent();
	ck_assert_int_ge(fslmc_find_container(&mc, 3), 0);
}
END_TEST

START_TEST(reset_container_closes_child_sessions)
{
	uint16_t root = open_root();
	int child = fslmc_find_container(&mc, 2);
	unsigned child_portal = (unsigned)mc.objs[child].portal;
	uint16_t child_token = open_on(child_portal, MC_CMD_ID(0x805, 1), 2);
	uint16_t grand = open_on(child_portal, MC_CMD_ID(0x805, 1), 3);
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x005, 2), child_token);

	/* self reset, non-recursive: the issuing session survives */
	mc_put(c.params, 0, 4, 2);
	mc_put(c.params, 4, 4, DPRC_RESET_OPTION_NON_RECURSIVE);
	ck_assert_uint_eq(run_on(child_portal, &c), MC_OK);
	ck_assert_uint_eq(mc.objs[child].sessions, 1);
	ck_assert_uint_eq(mc.objs[fslmc_find_container(&mc, 3)].sessions, 0);
	(void)grand;
	/* the child may not reset its parent */
	c = cmd(MC_CMD_ID(0x005, 1), child_token);
	mc_put(c.params, 0, 4, 1);
	ck_assert_uint_eq(run_on(child_portal, &c), MC_NO_PRIVILEGE);
	c = cmd(MC_CMD_ID(0x005, 1), root);
	mc_put(c.params, 0, 4, 2);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc.objs[child].sessions, 0);
	ck_assert_uint_eq(mc.objs[0].sessions, 1);
}
END_TEST

START_TEST(connection_and_dpbp)
{
	uint16_t root = open_root();
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x16c, 1), root);

	mc_put(c.params, 0, 4, 1);
	put_type(&c, 8, "dpni");
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_str_eq((char *)c.params + 32, "dpmac");
	ck_assert_uint_eq(mc_get(c.params, 48, 4), 1);
	uint16_t bp = open_on(0, MC_CMD_ID(0x804, 1), 1);

	c = cmd(MC_CMD_ID(0x002, 1), bp);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert(mc.objs[fslmc_find(&mc, FSLMC_DPBP, 1)].enabled);
	c = cmd(MC_CMD_ID(0x004, 1), bp);
	ck_assert_uint_eq(run(&c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 2, 2), 1);
	c = cmd(MC_CMD_ID(0x159, 1), bp);
	ck_assert_uint_eq(run(&c), MC_UNSUPPORTED_OP);
}
END_TEST

/* ---- the device on a KVM VM ---- */

static struct vm vm;

static void vm_setup(void)
{
	kvm_fixture_open(&vm, 0);
}

static void vm_teardown(void)
{
	kvm_fixture_close(&vm);
}

static struct vm_config *device_config(const char *portal_mode)
{
	char text[1024];
	struct vm_config *vmc;

	snprintf(text, sizeof(text), "[vm]\nimage = \"x.elf\"\n[devices.mc]\ntype = \"fsl-mc\"\n"
		 "portal = \"%s\"\ntest_hook = true\n"
		 "[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 1\n", portal_mode);
	vmc = config_parse("t.toml", text, strlen(text), NULL, 0, &error);
	ck_assert_msg(vmc, "%s", error.message);
	return vmc;
}

static void set_irq_on_device_root(struct device *dev, bool polled);

START_TEST(polled_device_answers_through_ram)
{
	struct vm_config *vmc = device_config("polled");
	struct device *dev = vmc->devices[0];
	uint64_t *portal;

	ck_assert_int_eq(dev->model->realize(dev, &vm), 0);
	ck_assert_uint_eq(vm.ram_slots[1].gpa, 0xf0000000);
	ck_assert_uint_eq(vm.ram_slots[1].size, FSLMC_PORTAL_AREA);
	portal = (uint64_t *)fslmc_device_portal(dev, 0);
	__atomic_store_n(&portal[1], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&portal[0], mc_hdr_encode(MC_CMD_ID(0x830, 1), 0, 0, 0, MC_READY),
			 __ATOMIC_RELEASE);
	for (int i = 0; i < 2000 && mc_hdr_status(__atomic_load_n(&portal[0], __ATOMIC_ACQUIRE)) ==
				    MC_READY; i++)
		usleep(1000);
	ck_assert_uint_eq(mc_hdr_status(portal[0]), MC_OK);
	ck_assert_uint_eq(portal[1] & 0xffffffff, 1);
	set_irq_on_device_root(dev, true);
	dev->model->stop(dev);
	dev->model->unrealize(dev, &vm);
	ck_assert_uint_eq(vm.ram_slots[1].size, 0);
	ck_assert_uint_eq(vm.irq.table->nr, 0);
	for (unsigned i = 0; i < sizeof(vm.irq.gsi_used); i++)
		ck_assert_uint_eq(vm.irq.gsi_used[i], 0);
	config_free(vmc);
}
END_TEST

static uint64_t bus_read64(uint64_t addr)
{
	uint64_t v = 0;

	ck_assert(bus_access(&vm.mmio_bus, addr, false, &v, 8));
	return v;
}

static void bus_write(uint64_t addr, uint64_t v, unsigned len)
{
	ck_assert(bus_access(&vm.mmio_bus, addr, true, &v, len));
}

/* Command through the device: trapped via the bus, polled via its RAM page. */
static uint8_t device_cmd(struct device *dev, bool polled, struct fslmc_cmd *c)
{
	uint64_t *portal = (uint64_t *)fslmc_device_portal(dev, 0);
	uint64_t words[7];

	memcpy(words, c->params, sizeof(words));
	for (unsigned i = 0; i < 7; i++) {
		if (polled)
			__atomic_store_n(&portal[1 + i], words[i], __ATOMIC_RELAXED);
		else
			bus_write(0xf0000000 + 8 + 8 * i, words[i], 8);
	}
	if (!polled) {
		bus_write(0xf0000004, c->header >> 32, 4); /* high half: no doorbell */
		ck_assert_uint_eq(mc_hdr_cmd_id(bus_read64(0xf0000000)), mc_hdr_cmd_id(c->header));
		bus_write(0xf0000000, (uint32_t)c->header, 4);
		c->header = bus_read64(0xf0000000);
	} else {
		__atomic_store_n(&portal[0], c->header, __ATOMIC_RELEASE);
		for (int i = 0; i < 2000 && mc_hdr_status(__atomic_load_n(&portal[0],
			__ATOMIC_ACQUIRE)) == MC_READY; i++)
			usleep(1000);
		c->header = portal[0];
	}
	for (unsigned i = 0; i < 7; i++)
		words[i] = polled ? portal[1 + i] : bus_read64(0xf0000000 + 8 + 8 * i);
	memcpy(c->params, words, sizeof(words));
	return mc_hdr_status(c->header);
}

/* Open root, program its IRQ: an MSI route appears; hot plug raises it. */
static void set_irq_on_device_root(struct device *dev, bool polled)
{
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x805, 1), 0);

	mc_put(c.params, 0, 4, 1);
	ck_assert_uint_eq(device_cmd(dev, polled, &c), MC_OK);
	uint16_t token = mc_hdr_token(c.header);

	c = cmd(MC_CMD_ID(0x010, 1), token);
	mc_put(c.params, 0, 4, 0x44);
	mc_put(c.params, 8, 8, 0xfee00000);
	ck_assert_uint_eq(device_cmd(dev, polled, &c), MC_OK);
	ck_assert_uint_eq(vm.irq.table->nr, 1);
	ck_assert_uint_eq(vm.irq.table->entries[0].u.msi.data, 0x44);
	struct fslmc_new_obj desc = { .kind = FSLMC_DPNI, .id = 5, .irq_count = 1 };

	ck_assert_int_eq(fslmc_device_hotplug(dev, 1, &desc), 0);
	ck_assert_int_eq(fslmc_device_hotplug(dev, 1, &desc), -EINVAL);
	ck_assert_int_eq(fslmc_device_unplug(dev, FSLMC_DPNI, 5), 0);
	ck_assert_int_eq(fslmc_device_unplug(dev, FSLMC_DPNI, 5), -EINVAL);
	c = cmd(MC_CMD_ID(0x016, 1), token);
	ck_assert_uint_eq(device_cmd(dev, polled, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 3);
}

START_TEST(trapped_device_answers_in_the_exit_path)
{
	struct vm_config *vmc = device_config("trapped");
	struct device *dev = vmc->devices[0];
	struct fslmc_cmd c = cmd(MC_CMD_ID(0x830, 1), 0);

	ck_assert_int_eq(dev->model->realize(dev, &vm), 0);
	ck_assert_uint_eq(vm.ram_slots[1].size, 0);
	ck_assert_uint_eq(device_cmd(dev, false, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 1);
	/* outside the command area: reads 0, writes ignored */
	bus_write(0xf0000000 + 0x100, 0x1234, 4);
	ck_assert_uint_eq(bus_read64(0xf0000000 + 0x100), 0);
	/* an unassigned register window reads all ones */
	ck_assert_uint_eq(bus_read64(0xf0000000 + FSLMC_PORTAL_AREA), ~0ull);
	set_irq_on_device_root(dev, false);
	dev->model->stop(dev);
	dev->model->unrealize(dev, &vm);
	ck_assert_uint_eq(vm.irq.table->nr, 0);
	config_free(vmc);
}
END_TEST

/* A realize that fails half-way (the memslot range is taken) is unrealized cleanly. */
START_TEST(failed_realize_unrealizes)
{
	struct vm_config *vmc = device_config("polled");
	struct device *dev = vmc->devices[0];
	void *page = aligned_alloc(4096, 4096);
	int slot = vm_add_ram_slot(&vm, 0xf0000000 + FSLMC_PORTAL_SIZE, 4096, page);

	ck_assert_int_ge(slot, 1);
	ck_assert_int_eq(dev->model->realize(dev, &vm), -EEXIST);
	dev->model->unrealize(dev, &vm);
	ck_assert_uint_eq(vm.ram_slots[slot].size, 4096);
	ck_assert_int_eq(vm_remove_ram_slot(&vm, slot), 0);
	config_free(vmc);
	free(page);
}
END_TEST

Suite *fslmc_suite(void)
{
	Suite *suite = suite_create("fslmc");
	TCase *cfg = tcase_create("config");
	TCase *model = tcase_create("model");
	TCase *device = tcase_create("device");

	tcase_add_test(cfg, config_defaults_and_tree);
	tcase_add_loop_test(cfg, config_errors, 0, (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(cfg, config_too_many_portals);
	suite_add_tcase(suite, cfg);
	tcase_add_checked_fixture(model, model_setup, model_teardown);
	tcase_add_test(model, tree_from_config);
	tcase_add_test(model, header_encoding);
	tcase_add_test(model, tokenless_commands);
	tcase_add_test(model, sessions_and_auth);
	tcase_add_test(model, session_exhaustion);
	tcase_add_test(model, get_obj_and_regions);
	tcase_add_test(model, api_version_gates_commands);
	tcase_add_test(model, irq_state_machine_and_events);
	tcase_add_test(model, set_obj_irq_and_completion_irq);
	tcase_add_test(model, hotplug_and_recursive_remove);
	tcase_add_test(model, reset_container_closes_child_sessions);
	tcase_add_test(model, connection_and_dpbp);
	suite_add_tcase(suite, model);
	tcase_add_checked_fixture(device, vm_setup, vm_teardown);
	tcase_set_timeout(device, 20);
	tcase_add_test(device, polled_device_answers_through_ram);
	tcase_add_test(device, trapped_device_answers_in_the_exit_path);
	tcase_add_test(device, failed_realize_unrealizes);
	suite_add_tcase(suite, device);
	return suite;
}
