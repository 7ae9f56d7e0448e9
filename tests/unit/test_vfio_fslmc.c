/* SPDX-License-Identifier: MIT */
/*
 * The fsl-mc passthrough forwarder (devices/fslmc/forward.c) against a
 * fake host: the project's MC model itself, at a host base the guest must
 * never see, reached through a table "guest portal -> host portal" the fake
 * attach fills in as the VFIO layer would. Covered: the scan's layout,
 * GET_OBJ_REG rewriting (v1/v2/v3), SET_IRQ/SET_OBJ_IRQ virtualization
 * (never reaching the host, errors from the host's own checks), GET_IRQ
 * answers, refused isolation commands, host failures as MC statuses, lazy
 * attach of a hot-plugged DPMCP and its removal, and a hostile stream.
 * Also the vfio-platform and vfio-fsl-mc models' config errors and DT
 * nodes as `vmm dtb` builds them, without a host device.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fslmc/forward.h"
#include "devices/fslmc/fslmc.h"
#include "suites.h"
#include "vmm/config/config.h"
#include "vmm/fdt.h"

#define HOST_BASE  0x80c000000ull
#define GUEST_BASE 0xf0000000ull

/* ---- the fake host ---- */

struct fake_host {
	struct fslmc_config config;
	struct fslmc_obj_config objects[12];
	struct fslmc mc;
	int host_portal[FSLMC_MAX_PORTALS];   /* guest portal -> host model portal */
	unsigned sent, attached, detached, programmed, host_set_irq;
	int fail_send;                        /* -errno for the next sends */
	int fail_attach_kind;                 /* attach fails for this kind */
	int fail_program;
	unsigned last_obj, last_irq;
	uint64_t last_addr;
	uint32_t last_data;
};

static struct fake_host host;
static struct fslmc_fwd fwd;

static int fake_send(void *opaque, unsigned portal, struct fslmc_cmd *cmd)
{
	struct fake_host *h = opaque;
	unsigned number = mc_cmd_number(mc_hdr_cmd_id(cmd->header));

	h->sent++;
	if (h->fail_send)
		return h->fail_send;
	if (number == MC_CMD_SET_IRQ || number == MC_CMD_DPRC_SET_OBJ_IRQ)
		h->host_set_irq++; /* the host's MSI programming must never be touched */
	ck_assert_int_ge(h->host_portal[portal], 0);
	fslmc_execute(&h->mc, (unsigned)h->host_portal[portal], cmd);
	return 0;
}

static int fake_attach(void *opaque, struct fslmc_fwd *f, unsigned obj)
{
	struct fake_host *h = opaque;
	const struct fslmc_fwd_obj *o = &f->objs[obj];
	int host_obj = fslmc_find(&h->mc, o->kind, o->id);

	if ((int)o->kind == h->fail_attach_kind || host_obj < 0)
		return -ENODEV;
	h->attached++;
	if (o->kind == FSLMC_DPRC || o->kind == FSLMC_DPMCP) {
		ck_assert_uint_ne(fslmc_fwd_map_portal(f, obj), 0);
		h->host_portal[f->objs[obj].portal] = h->mc.objs[host_obj].portal;
		return 0;
	}
	for (unsigned r = 0; r < o->region_count; r++)
		ck_assert_uint_ne(fslmc_fwd_map_region(f, obj, r, h->mc.objs[host_obj].regions[r].size),
				  0);
	return 0;
}

static void fake_detach(void *opaque, struct fslmc_fwd *f, unsigned obj)
{
	((struct fake_host *)opaque)->detached++;
}

static int fake_program(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data)
{
	struct fake_host *h = opaque;

	if (h->fail_program)
		return h->fail_program;
	h->programmed++;
	h->last_obj = obj;
	h->last_irq = irq;
	h->last_addr = addr;
	h->last_data = data;
	return 0;
}

static void add_obj(unsigned kind, uint32_t id, uint32_t container, uint8_t regions)
{
	struct fslmc_obj_config *o = &host.objects[host.config.object_count++];

	fslmc_kind_defaults(kind, &o->ver_major, &o->ver_minor, &o->irq_count, &o->region_count);
	o->kind = kind;
	o->id = id;
	o->container = container;
	o->plugged = true;
	o->icid = id;
	o->region_size = (uint32_t)FSLMC_WINDOW_SIZE;
	if (kind == FSLMC_DPRC || kind == FSLMC_DPMCP) {
		o->region_count = 1;
		o->region_size = (uint32_t)FSLMC_PORTAL_SIZE;
	} else {
		o->region_count = regions;
	}
}

/* The tree of configs/fslmc-polled.toml, at a host address. */
static void setup(void)
{
	const struct fslmc_fwd_host_ops ops = {
		.send = fake_send, .attach = fake_attach, .detach = fake_detach,
		.irq_program = fake_program, .opaque = &host,
	};

	memset(&host, 0, sizeof(host));
	host.config = (struct fslmc_config){
		.base = HOST_BASE, .polled = true, .root_id = 1, .root_icid = 1, .dprc_major = 6,
		.dprc_minor = 6, .fw_major = 10, .fw_minor = 32, .test_hook = true,
		.objects = host.objects,
	};
	add_obj(FSLMC_DPMCP, 1, 1, 0);
	add_obj(FSLMC_DPMCP, 2, 1, 0);
	add_obj(FSLMC_DPIO, 1, 1, 2);
	add_obj(FSLMC_DPBP, 1, 1, 0);
	add_obj(FSLMC_DPNI, 1, 1, 0);
	add_obj(FSLMC_DPRC, 2, 1, 0);
	add_obj(FSLMC_DPMCP, 3, 2, 0);
	add_obj(FSLMC_DPNI, 2, 2, 0);
	host.objects[host.config.object_count - 1].plugged = false;
	ck_assert_int_eq(fslmc_init(&host.mc, &host.config, NULL), 0);
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++)
		host.host_portal[p] = -1;
	host.host_portal[0] = 0;
	host.fail_attach_kind = -1;
	fslmc_fwd_init(&fwd, "mc", GUEST_BASE, &ops);
	ck_assert_int_eq(fslmc_fwd_scan(&fwd), 0);
}

static void teardown(void)
{
	fslmc_fwd_clear(&fwd);
	fslmc_clear(&host.mc);
}

/* ---- guest side helpers ---- */

static struct fslmc_cmd cmd(uint16_t cmd_id, uint16_t token)
{
	return (struct fslmc_cmd){ .header = mc_hdr_encode(cmd_id, token, 0, MC_FLAG_SW_INTR_DIS,
							   MC_READY) };
}

static uint8_t run_on(unsigned portal, struct fslmc_cmd *c)
{
	uint16_t cmd_id = mc_hdr_cmd_id(c->header);

	fslmc_fwd_execute(&fwd, portal, c);
	ck_assert_uint_ne(mc_hdr_status(c->header), MC_READY);
	ck_assert_uint_eq(mc_hdr_cmd_id(c->header), cmd_id);
	return mc_hdr_status(c->header);
}

static uint16_t open_on(unsigned portal, unsigned kind, uint32_t id)
{
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_OPEN_BASE + kind, 1), 0);

	mc_put(c.params, 0, 4, id);
	ck_assert_uint_eq(run_on(portal, &c), MC_OK);
	return mc_hdr_token(c.header);
}

static void put_type(struct fslmc_cmd *c, unsigned off, const char *type)
{
	strncpy((char *)c->params + off, type, MC_TYPE_LEN);
}

static uint64_t obj_reg(uint16_t token, unsigned version, const char *type, uint32_t id,
			uint8_t index, uint8_t *status)
{
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ_REG, version), token);

	mc_put(c.params, 0, 4, id);
	c.params[6] = index;
	put_type(&c, 24, type);
	*status = run_on(0, &c);
	return mc_get(c.params, 32, 8) + mc_get(c.params, 8, 8);
}

/* ---- tests ---- */

START_TEST(scan_follows_host_order)
{
	/* Portals: root 0, dpmcp.1 1, dpmcp.2 2, dprc.2 3, dpmcp.3 4 (as the emulated MC). */
	static const struct { unsigned kind; uint32_t id; } portals[] = {
		{ FSLMC_DPRC, 1 }, { FSLMC_DPMCP, 1 }, { FSLMC_DPMCP, 2 }, { FSLMC_DPRC, 2 },
		{ FSLMC_DPMCP, 3 },
	};

	ck_assert_uint_eq(fwd.objs[0].id, 1);
	for (unsigned p = 0; p < 5; p++) {
		int obj = fwd.portal_obj[p];

		ck_assert_int_ge(obj, 0);
		ck_assert_uint_eq(fwd.objs[obj].kind, portals[p].kind);
		ck_assert_uint_eq(fwd.objs[obj].id, portals[p].id);
	}
	ck_assert_int_eq(fwd.portal_obj[5], -1);
	int io = fslmc_fwd_find(&fwd, FSLMC_DPIO, 1), ni2 = fslmc_fwd_find(&fwd, FSLMC_DPNI, 2);

	ck_assert_int_eq(fwd.window_obj[0], io);
	ck_assert_int_eq(fwd.window_obj[1], io);
	ck_assert_int_eq(fwd.window_obj[2], -1);
	/* The unplugged dpni.2 is known but has no host device. */
	ck_assert_int_ge(ni2, 0);
	ck_assert(!fwd.objs[ni2].attached);
	ck_assert_int_eq(fslmc_fwd_portal_container(&fwd, 4), fslmc_fwd_find(&fwd, FSLMC_DPRC, 2));
	ck_assert_uint_eq(host.host_set_irq, 0);
}
END_TEST

START_TEST(forwarded_commands_answer_as_the_host)
{
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_DPMNG_GET_VERSION, 1), 0);

	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 4, 4), 10);
	uint16_t root = open_on(0, FSLMC_DPRC, 1);

	c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ_COUNT, 1), root);
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 4, 4), 6);
	/* Tokens are the host's and per portal: dpmcp.1's portal does not know root's. */
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ_COUNT, 1), root);
	ck_assert_uint_eq(run_on(1, &c), MC_AUTH_ERR);
	/* A child's portal acts for the child. */
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_CONT_ID, 1), 0);
	ck_assert_uint_eq(run_on(3, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 2);
	/* No host portal behind a window: the MC's answer for an unowned portal. */
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_CONT_ID, 1), 0);
	ck_assert_uint_eq(run_on(15, &c), MC_INVALID_STATE);
	ck_assert_uint_eq(run_on(99, &c), MC_INVALID_STATE);
	c = cmd(MC_CMD_ID(MC_CMD_CLOSE, 1), root);
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
}
END_TEST

START_TEST(get_obj_reg_answers_guest_addresses)
{
	uint16_t root = open_on(0, FSLMC_DPRC, 1);
	uint8_t st;

	for (unsigned v = 2; v <= 3; v++) {
		ck_assert_uint_eq(obj_reg(root, v, "dpmcp", 2, 0, &st), GUEST_BASE + 2 * FSLMC_PORTAL_SIZE);
		ck_assert_uint_eq(st, MC_OK);
		ck_assert_uint_eq(obj_reg(root, v, "dprc", 2, 0, &st), GUEST_BASE + 3 * FSLMC_PORTAL_SIZE);
		ck_assert_uint_eq(obj_reg(root, v, "dpio", 1, 1, &st),
				  GUEST_BASE + FSLMC_PORTAL_AREA + FSLMC_WINDOW_SIZE);
	}
	/* v1: base_addr 0, the offset is relative to the type's DT range (guest windows). */
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ_REG, 1), root);

	mc_put(c.params, 0, 4, 1);
	put_type(&c, 24, "dpio");
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 32, 8), 0);
	ck_assert_uint_eq(mc_get(c.params, 8, 8), 0);
	ck_assert_uint_eq(c.params[20], MC_REGION_QBMAN_PORTAL);
	ck_assert_uint_eq(mc_get(c.params, 16, 4), 0x1000); /* the host's v1 size, kept */
	/* The host's own errors pass through; a v4 does not exist. */
	obj_reg(root, 3, "dpmcp", 2, 5, &st);
	ck_assert_uint_eq(st, MC_CONFIG_ERR);
	obj_reg(root, 4, "dpmcp", 2, 0, &st);
	ck_assert_uint_eq(st, MC_UNSUPPORTED_OP);
	obj_reg(root, 3, "dpmcp", 3, 0, &st); /* in the child: not the root's child */
	ck_assert_uint_eq(st, MC_CONFIG_ERR);
}
END_TEST

START_TEST(set_irq_is_virtualized)
{
	uint16_t root = open_on(0, FSLMC_DPRC, 1), io = open_on(0, FSLMC_DPIO, 1);
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_SET_IRQ, 1), io);
	int io_obj = fslmc_fwd_find(&fwd, FSLMC_DPIO, 1);

	mc_put(c.params, 0, 4, 0x41);
	c.params[4] = 0;
	mc_put(c.params, 8, 8, 0xfee00000);
	mc_put(c.params, 16, 4, 7);
	memset(c.params + 24, 0xaa, 8); /* junk stays out of the OK answer */
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 24, 8), 0);
	ck_assert_uint_eq(host.programmed, 1);
	ck_assert_int_eq((int)host.last_obj, io_obj);
	ck_assert_uint_eq(host.last_addr, 0xfee00000);
	ck_assert_uint_eq(host.last_data, 0x41);
	ck_assert_uint_eq(host.host_set_irq, 0);
	/* The host MC's own IRQ configuration was never touched. */
	int host_io = fslmc_find(&host.mc, FSLMC_DPIO, 1);

	ck_assert_uint_eq(host.mc.objs[host_io].irqs[0].addr, 0);
	/* GET_IRQ shows the guest its own values. */
	c = cmd(MC_CMD_ID(MC_CMD_GET_IRQ, 1), io);
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 0x41);
	ck_assert_uint_eq(mc_get(c.params, 8, 8), 0xfee00000);
	ck_assert_uint_eq(mc_get(c.params, 16, 4), 7);
	/* The host's checks decide the errors: index, token, version. */
	c = cmd(MC_CMD_ID(MC_CMD_SET_IRQ, 1), io);
	c.params[4] = 3;
	ck_assert_uint_eq(run_on(0, &c), MC_CONFIG_ERR);
	c = cmd(MC_CMD_ID(MC_CMD_SET_IRQ, 1), (uint16_t)(io ^ 0x5a5a));
	ck_assert_uint_eq(run_on(0, &c), MC_AUTH_ERR);
	c = cmd(MC_CMD_ID(MC_CMD_SET_IRQ, 2), io);
	ck_assert_uint_eq(run_on(0, &c), MC_UNSUPPORTED_OP);
	/* No route left: NO_RESOURCE, as the emulated MC out of GSIs. */
	host.fail_program = -ENOSPC;
	c = cmd(MC_CMD_ID(MC_CMD_SET_IRQ, 1), root);
	ck_assert_uint_eq(run_on(0, &c), MC_NO_RESOURCE);
	ck_assert_uint_eq(host.host_set_irq, 0);
}
END_TEST

START_TEST(set_obj_irq_is_virtualized)
{
	uint16_t root = open_on(0, FSLMC_DPRC, 1), bp = open_on(0, FSLMC_DPBP, 1);
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), root);

	mc_put(c.params, 0, 4, 0x52);
	mc_put(c.params, 8, 8, 0xfee00000);
	mc_put(c.params, 20, 4, 2);
	put_type(&c, 24, "dpmcp");
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_int_eq((int)host.last_obj, fslmc_fwd_find(&fwd, FSLMC_DPMCP, 2));
	ck_assert_uint_eq(host.last_data, 0x52);
	/* A child DPRC's IRQ, set by its parent. */
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), root);
	mc_put(c.params, 20, 4, 2);
	put_type(&c, 24, "dprc");
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_int_eq((int)host.last_obj, fslmc_fwd_find(&fwd, FSLMC_DPRC, 2));
	/* Not a direct child, unknown type, bad index: CONFIG_ERR; on a DPBP token: no such command. */
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), root);
	mc_put(c.params, 20, 4, 3);
	put_type(&c, 24, "dpmcp");
	ck_assert_uint_eq(run_on(0, &c), MC_CONFIG_ERR);
	put_type(&c, 24, "dpxx");
	ck_assert_uint_eq(run_on(0, &c), MC_CONFIG_ERR);
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), root);
	mc_put(c.params, 20, 4, 1);
	c.params[4] = 1;
	put_type(&c, 24, "dpio");
	ck_assert_uint_eq(run_on(0, &c), MC_CONFIG_ERR);
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), bp);
	ck_assert_uint_eq(run_on(0, &c), MC_UNSUPPORTED_OP);
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), 0x77);
	ck_assert_uint_eq(run_on(0, &c), MC_AUTH_ERR);
	ck_assert_uint_eq(host.host_set_irq, 0);
	ck_assert_uint_eq(host.programmed, 2);
}
END_TEST

START_TEST(isolation_commands_are_refused)
{
	static const uint16_t numbers[] = { 0x151, 0x152, 0x155, 0x157, 0x158, 0x16b };
	uint16_t root = open_on(0, FSLMC_DPRC, 1);
	unsigned sent = host.sent;

	for (unsigned i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		struct fslmc_cmd c = cmd(MC_CMD_ID(numbers[i], 1), root);

		ck_assert_uint_eq(run_on(0, &c), MC_NO_PRIVILEGE);
	}
	struct fslmc_cmd create = cmd(MC_CMD_ID(0x901, 1), root); /* DPNI CREATE */

	ck_assert_uint_eq(run_on(0, &create), MC_NO_PRIVILEGE);
	ck_assert_uint_eq(host.sent, sent);
	ck_assert_uint_eq(fwd.refused, 7);
}
END_TEST

START_TEST(host_failures_are_mc_statuses)
{
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_CONT_ID, 1), 0);

	mc_put(c.params, 0, 8, 0x1234);
	host.fail_send = -ETIMEDOUT;
	ck_assert_uint_eq(run_on(0, &c), MC_TIMEOUT);
	ck_assert_uint_eq(mc_get(c.params, 0, 8), 0x1234); /* params left alone */
	host.fail_send = -EIO;
	ck_assert_uint_eq(run_on(0, &c), MC_INVALID_STATE);
	host.fail_send = 0;
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(fwd.host_errors, 2);
}
END_TEST

START_TEST(hotplugged_dpmcp_is_attached_lazily)
{
	uint16_t root = open_on(0, FSLMC_DPRC, 1);
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_TEST_ADD_OBJ, 1), root);
	unsigned attached = host.attached;
	uint8_t st;

	mc_put(c.params, 0, 4, 9);
	c.params[4] = 1;
	put_type(&c, 24, "dpmcp");
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	uint64_t gpa = obj_reg(root, 3, "dpmcp", 9, 0, &st);

	ck_assert_uint_eq(st, MC_OK);
	ck_assert_uint_eq(gpa, GUEST_BASE + 5 * FSLMC_PORTAL_SIZE);
	ck_assert_uint_eq(host.attached, attached + 1);
	uint16_t mcp = open_on(5, FSLMC_DPMCP, 9);

	c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_CONT_ID, 1), 0);
	ck_assert_uint_eq(run_on(5, &c), MC_OK);
	ck_assert_uint_eq(mc_get(c.params, 0, 4), 1);
	/* Its IRQ can be routed now that its device is open. */
	c = cmd(MC_CMD_ID(MC_CMD_SET_IRQ, 1), mcp);
	mc_put(c.params, 8, 8, 0xfee00000);
	ck_assert_uint_eq(run_on(5, &c), MC_OK);
	/* Removed on the host: the device is let go and the window has no portal. */
	c = cmd(MC_CMD_ID(MC_CMD_TEST_REMOVE_OBJ, 1), root);
	mc_put(c.params, 0, 4, 9);
	put_type(&c, 24, "dpmcp");
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	ck_assert_uint_eq(host.detached, 1);
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_GET_CONT_ID, 1), 0);
	ck_assert_uint_eq(run_on(5, &c), MC_INVALID_STATE);
	ck_assert_int_eq(fslmc_fwd_find(&fwd, FSLMC_DPMCP, 9), -1);
}
END_TEST

START_TEST(unattachable_objects_get_no_resource)
{
	uint16_t root = open_on(0, FSLMC_DPRC, 1);
	struct fslmc_cmd c = cmd(MC_CMD_ID(MC_CMD_TEST_ADD_OBJ, 1), root);
	uint8_t st;

	host.fail_attach_kind = FSLMC_DPCON;
	mc_put(c.params, 0, 4, 4);
	c.params[4] = 1;
	c.params[5] = 1;
	put_type(&c, 24, "dpcon");
	ck_assert_uint_eq(run_on(0, &c), MC_OK);
	obj_reg(root, 3, "dpcon", 4, 0, &st);
	ck_assert_uint_eq(st, MC_NO_RESOURCE);
	c = cmd(MC_CMD_ID(MC_CMD_DPRC_SET_OBJ_IRQ, 1), root);
	mc_put(c.params, 8, 8, 0xfee00000);
	mc_put(c.params, 20, 4, 4);
	put_type(&c, 24, "dpcon");
	ck_assert_uint_eq(run_on(0, &c), MC_NO_RESOURCE);
}
END_TEST

/* A VFIO region size near 2^64 fits no windows; it must not wrap to zero of them. */
START_TEST(absurd_region_sizes_get_no_windows)
{
	int bp = fslmc_fwd_find(&fwd, FSLMC_DPBP, 1);
	int owners[FSLMC_MAX_WINDOWS];

	ck_assert_int_gt(bp, 0);
	memcpy(owners, fwd.window_obj, sizeof(owners));
	ck_assert_uint_eq(fslmc_fwd_map_region(&fwd, (unsigned)bp, 0, UINT64_MAX), 0);
	ck_assert_uint_eq(fslmc_fwd_map_region(&fwd, (unsigned)bp, 0, UINT64_MAX - 0x8000), 0);
	ck_assert_uint_eq(fslmc_fwd_map_region(&fwd, (unsigned)bp, 0, 65 * FSLMC_WINDOW_SIZE), 0);
	ck_assert_int_eq(memcmp(owners, fwd.window_obj, sizeof(owners)), 0);
	ck_assert(!fwd.objs[bp].regions[0].mapped);
	/* One byte over a window takes two; the first free ones follow dpio.1's two. */
	ck_assert_uint_eq(fslmc_fwd_map_region(&fwd, (unsigned)bp, 0, FSLMC_WINDOW_SIZE + 1),
			  GUEST_BASE + FSLMC_PORTAL_AREA + 2 * FSLMC_WINDOW_SIZE);
	ck_assert_int_eq(fwd.window_obj[2], bp);
	ck_assert_int_eq(fwd.window_obj[3], bp);
	ck_assert_int_eq(fwd.window_obj[4], -1);
}
END_TEST

static uint64_t lcg(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 17;
}

/* Random commands on random portals: every answer is an MC status and the host's MSIs stay untouched. */
START_TEST(hostile_stream)
{
	static const uint16_t ids[] = {
		0x8001, 0x0101, 0x0111, 0x15e1, 0x15e3, 0x15f1, 0x1601, 0x1511, 0x9011, 0x15a1,
		0x8051, 0x80b1, 0xe011, 0xe021, 0x8301, 0x0051,
	};
	uint64_t seed = 42;
	uint16_t root = open_on(0, FSLMC_DPRC, 1);

	for (unsigned i = 0; i < 20000; i++) {
		uint16_t id = ids[lcg(&seed) % (sizeof(ids) / sizeof(ids[0]))];
		struct fslmc_cmd c = cmd(id, lcg(&seed) % 3 ? (uint16_t)lcg(&seed) : root);

		for (unsigned k = 0; k < MC_PARAMS_SIZE; k++)
			c.params[k] = (uint8_t)lcg(&seed);
		if (lcg(&seed) % 2)
			put_type(&c, 24, (const char *[]){ "dpmcp", "dpio", "dprc", "dpni" }[lcg(&seed) % 4]);
		if (id == 0x8001 || id == 0x0051)
			c.header = mc_hdr_set_token(c.header, 1); /* keep the root session */
		uint8_t st = run_on((unsigned)(lcg(&seed) % FSLMC_MAX_PORTALS), &c);

		ck_assert(st == MC_OK || (st >= MC_AUTH_ERR && st <= MC_INVALID_STATE));
	}
	ck_assert_uint_eq(host.host_set_irq, 0);
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++)
		for (unsigned irq = 0; host.mc.objs[i].used && irq < FSLMC_MAX_IRQS; irq++)
			ck_assert_uint_eq(host.mc.objs[i].irqs[irq].addr, 0);
}
END_TEST

/* ---- the personalities' config and DT without a host device (what `vmm dtb` does) ---- */

#define VM_HEAD "[vm]\nmemory = \"16M\"\nimage = \"x\"\n[devices.ioapic]\ntype = \"ioapic\"\n"

static const char *config_error_for(const char *text)
{
	static struct config_error error;
	struct vm_config *config = config_parse("t.toml", text, strlen(text), NULL, 0, &error);

	if (config) {
		config_free(config);
		return NULL;
	}
	return error.message;
}

START_TEST(personality_config_errors)
{
	static const struct { const char *section, *message; } bad[] = {
		{ "type = \"vfio-platform\"\ncompatible = \"a,b\"\n", "'sysfs'" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\n", "needs 'compatible'" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = []\n", "is empty" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = [1]\n", "non-empty string" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = \"a,b\"\nirqs = [24]\n",
		  "0..23" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = \"a,b\"\nirqs = [5, 5]\n",
		  "twice" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = \"a,b\"\naddress = 0xfd000010\n",
		  "4K-aligned" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = \"a,b\"\naddress = 0x1000\n",
		  "address" },
		{ "type = \"vfio-platform\"\nsysfs = \"/sys/x\"\ncompatible = \"a,b\"\nbar = 1\n", "bar" },
		{ "type = \"vfio-fsl-mc\"\n", "'sysfs'" },
		{ "type = \"vfio-fsl-mc\"\nsysfs = \"/sys/x\"\nbase = 0xf0001000\n", "64K-aligned" },
		{ "type = \"vfio-fsl-mc\"\nsysfs = \"/sys/x\"\nportal = \"fast\"\n", "portal" },
		{ "type = \"vfio-fsl-mc\"\nsysfs = \"/sys/x\"\nobjects = []\n", "objects" },
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), VM_HEAD "[devices.d]\n%s", bad[i].section);
		const char *message = config_error_for(text);

		ck_assert_msg(message, "accepted: %s", bad[i].section);
		ck_assert_msg(strstr(message, bad[i].message), "'%s' lacks '%s'", message,
			      bad[i].message);
	}
}
END_TEST

START_TEST(personality_dt_nodes_without_the_device)
{
	static const char text[] = VM_HEAD
		"[devices.plat]\ntype = \"vfio-platform\"\nsysfs = \"/sys/bus/platform/devices/x\"\n"
		"compatible = [\"v,one\", \"v,two\"]\naddress = 0xfd100000\nirqs = [6, 7]\n"
		"[devices.mc]\ntype = \"vfio-fsl-mc\"\nsysfs = \"/sys/bus/fsl-mc/devices/dprc.2\"\n"
		"base = 0xf0200000\nportal = \"trapped\"\n";
	struct config_error error;
	struct vm_config *config = config_parse("t.toml", text, strlen(text), NULL, 0, &error);
	void *blob = NULL;
	size_t size;
	int len;

	ck_assert_msg(config, "%s", error.message);
	ck_assert_int_eq(fdt_build(config, &blob, &size), 0);
	int plat = fdt_path_offset(blob, "/platform/plat@fd100000");

	ck_assert_int_ge(plat, 0);
	const char *compat = fdt_getprop(blob, plat, "compatible", &len);

	ck_assert_int_eq(len, (int)sizeof("v,one\0v,two"));
	ck_assert_int_eq(memcmp(compat, "v,one\0v,two", (size_t)len), 0);
	/* No host device opened: reg unknown, so absent; interrupts from config (level). */
	ck_assert_ptr_null(fdt_getprop(blob, plat, "reg", NULL));
	const fdt32_t *irqs = fdt_getprop(blob, plat, "interrupts", &len);

	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(fdt32_to_cpu(irqs[0]), 6);
	ck_assert_uint_eq(fdt32_to_cpu(irqs[1]), 1);
	ck_assert_uint_eq(fdt32_to_cpu(irqs[2]), 7);
	/* The passed-through MC: the emulated MC's node, at base. */
	int mc = fdt_path_offset(blob, "/fsl-mc@f0200000");

	ck_assert_int_ge(mc, 0);
	ck_assert_int_eq(fdt_node_check_compatible(blob, mc, "fsl,qoriq-mc"), 0);
	ck_assert_str_eq(fdt_getprop(blob, mc, "vmm,portal-mode", NULL), "trapped");
	const fdt32_t *reg = fdt_getprop(blob, mc, "reg", &len);

	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(fdt32_to_cpu(reg[1]), 0xf0200000);
	ck_assert_uint_eq(fdt32_to_cpu(reg[3]), 0x40);
	free(blob);
	config_free(config);
}
END_TEST

Suite *vfio_fslmc_suite(void)
{
	Suite *s = suite_create("vfio_fslmc");
	TCase *t = tcase_create("forwarder");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, scan_follows_host_order);
	tcase_add_test(t, forwarded_commands_answer_as_the_host);
	tcase_add_test(t, get_obj_reg_answers_guest_addresses);
	tcase_add_test(t, set_irq_is_virtualized);
	tcase_add_test(t, set_obj_irq_is_virtualized);
	tcase_add_test(t, isolation_commands_are_refused);
	tcase_add_test(t, host_failures_are_mc_statuses);
	tcase_add_test(t, hotplugged_dpmcp_is_attached_lazily);
	tcase_add_test(t, unattachable_objects_get_no_resource);
	tcase_add_test(t, absurd_region_sizes_get_no_windows);
	tcase_add_test(t, hostile_stream);
	suite_add_tcase(s, t);
	t = tcase_create("personalities");
	tcase_add_test(t, personality_config_errors);
	tcase_add_test(t, personality_dt_nodes_without_the_device);
	suite_add_tcase(s, t);
	return s;
}
