/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the fsl-mc passthrough forwarder
 * (devices/fslmc/forward.c): a guest's MC command stream, with the
 * project's MC model (devices/fslmc/) as the host MC behind it, set up as
 * tests/unit/test_vfio_fslmc.c does. The input is a sequence of 64-byte
 * records:
 *
 *   byte 0   guest portal (mod 17; 16 is portal 99, which no window has)
 *   byte 1   < 0xe0: a command from the table below; 0xe0-0xef: bytes 6-7 as
 *            a raw cmd_id; 0xf0-0xff: a host-side event (below)
 *   byte 2   token: < 0x80 one the guest was given by an OPEN, 0xff 0,
 *            else bytes 4-5
 *   byte 3   flags_sw bit 0 (INTR_DIS); bit 7: write a valid type name
 *            (bits 1-4) at params 8 and 24 and make the ids at 0 and 20 small
 *   bytes 8- the 56 parameter bytes
 *
 * Host-side events (what happens to the host behind the forwarder's back):
 *   0xf0 the host adds an object (container, kind, id, counts from the
 *        record); 0xf1 the host removes object index byte 2 (its VFIO
 *        device dies with it: the fake's portals answer -ENODEV after);
 *   0xf2 host portal accesses fail (byte 2: 0 none, 1 -ETIMEDOUT, 2 -EIO);
 *   0xf3 attaching host devices fails (byte 2 bit 0); 0xf4 MSI routing
 *        fails (byte 2 bit 0); 0xf5 the VFIO region size the next attaches
 *        report (byte 2 picks from sizes[], 0: the MC's own);
 *   0xf6 a register-window access at offset params[0..3] is resolved
 *        (fslmc_fwd_window_owner) and checked.
 *
 * Invariants (abort() on violation), after every record: SET_IRQ,
 * SET_OBJ_IRQ and object CREATE/DESTROY never reach the host, and the
 * isolation commands (CREATE/DESTROY_CONT, SET_RES_QUOTA, ASSIGN,
 * UNASSIGN, GET_PORTAL_PADDR) never reach it on a token the host holds for
 * a DPRC; the host MC's IRQs are never programmed; fslmc_check() is clean;
 * every answer has an MC status and the guest's cmd_id; a GET_OBJ_REG
 * answer is a guest address, computed the way Linux does for its version
 * and region type, inside the guest's portal or register windows, at the
 * region the forwarder mapped for that object; GET_IRQ answers carry the
 * guest's own MSI or nothing; the forwarder's tables agree with each
 * other; a host device is attached at most once, detached only when
 * attached, and all are detached after fslmc_fwd_clear (no leak).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fslmc/forward.h"
#include "devices/fslmc/fslmc.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

#define HOST_BASE  0x80c000000ull
#define GUEST_BASE 0xf0000000ull
#define MAX_TOKENS 32

/* DPRC commands that must never reach the host on a DPRC token. */
static const unsigned isolation_numbers[] = { 0x151, 0x152, 0x155, 0x157, 0x158, 0x16b };

static const uint16_t commands[] = {
	/* OPEN of every kind, CLOSE, the portal's container and the MC version */
	0x8011, 0x8021, 0x8031, 0x8041, 0x8051, 0x8061, 0x8071, 0x8081, 0x8091, 0x80a1,
	0x80b1, 0x80c1, 0x80d1, 0x80e1, 0x80f1, 0x8101, 0x8001, 0x8301, 0x8311,
	/* object-agnostic: attributes, reset, enable, IRQ state */
	0x0041, 0x0051, 0x0052, 0x0021, 0x0031, 0x0061, 0x0101, 0x0102, 0x0111, 0x0121,
	0x0131, 0x0141, 0x0151, 0x0161, 0x0171,
	/* DPRC: objects, regions, IRQs, connections */
	0x1591, 0x15a1, 0x15e1, 0x15e2, 0x15e3, 0x15e4, 0x15f1, 0x15f2, 0x1601, 0x16c1,
	/* refused: isolation, object create/destroy */
	0x1511, 0x1521, 0x1551, 0x1571, 0x1581, 0x16b1, 0x9011, 0x9051, 0x90b1, 0x9851,
	/* the model's test hook (hot plug through the guest's own DPRC token) */
	0xe011, 0xe021, 0xe031,
	/* API versions */
	0xa051, 0xa0b1, 0xa031,
};

static const char *const type_names[] = {
	"dprc", "dpmcp", "dpio", "dpbp", "dpni", "dpmac", "dpcon", "dpsw",
	"dpxx", "", "dprtc", "dpci", "dpdmai", "dpseci", "dpaiop", "dpdbg",
};

/* VFIO region sizes a host device may report (hostile ones included). */
static const uint64_t sizes[] = {
	0, 1, 0x1000, 0x10000, 0x10001, 0x20000, 0x400000, 0x3f0000, 0x410000,
	0xffffffffull, 1ull << 63, UINT64_MAX - 0x8000, UINT64_MAX,
};

struct fake_host {
	struct fslmc_config config;
	struct fslmc_obj_config objects[16];
	struct fslmc mc;
	unsigned gen[FSLMC_MAX_OBJECTS];          /* bumped when a host object goes */
	int portal_host[FSLMC_MAX_PORTALS];       /* guest portal -> host object, -1 */
	unsigned portal_gen[FSLMC_MAX_PORTALS];   /* ...as it was when attached */
	bool attached[FSLMC_MAX_OBJECTS];         /* forwarder objects with a device */
	unsigned attaches, detaches;
	int fail_send;
	bool fail_attach, fail_program;
	uint64_t region_size;                     /* 0: the MC's own */
	uint16_t tokens[MAX_TOKENS];             /* the last OPENs' tokens, a ring */
	unsigned token_count, token_next;
};

static struct fake_host host;
static struct fslmc_fwd fwd;

static bool is_isolation(unsigned number)
{
	for (size_t i = 0; i < sizeof(isolation_numbers) / sizeof(isolation_numbers[0]); i++) {
		if (number == isolation_numbers[i])
			return true;
	}
	return false;
}

/* The host's own view: which object token `token` opens on host portal `portal`, or -1. */
static int host_session_obj(unsigned portal, uint16_t token)
{
	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++) {
		const struct fslmc_session *session = &host.mc.sessions[s];

		if (session->used && session->portal == portal && session->token == token)
			return session->obj;
	}
	return -1;
}

/* ---- the host side the forwarder calls ---- */

static int fake_send(void *opaque, unsigned portal, struct fslmc_cmd *cmd)
{
	unsigned number = mc_cmd_number(mc_hdr_cmd_id(cmd->header));

	CHECK(portal < FSLMC_MAX_PORTALS && fwd.portal_obj[portal] >= 0);
	CHECK(number != MC_CMD_SET_IRQ && number != MC_CMD_DPRC_SET_OBJ_IRQ);
	CHECK(!(number > 0x900 && number < 0x900 + FSLMC_KIND_COUNT) &&
	      !(number > 0x980 && number < 0x980 + FSLMC_KIND_COUNT));
	CHECK(mc_hdr_status(cmd->header) == MC_READY);
	if (host.fail_send)
		return host.fail_send;
	int owner = host.portal_host[portal];

	CHECK(owner >= 0); /* the forwarder sends only where it mapped a host portal */
	if (!host.mc.objs[owner].used || host.gen[owner] != host.portal_gen[portal])
		return -ENODEV; /* that object's VFIO device is gone */
	int host_portal = host.mc.objs[owner].portal;

	CHECK(host_portal >= 0);
	if (is_isolation(number)) {
		int obj = host_session_obj((unsigned)host_portal, mc_hdr_token(cmd->header));

		CHECK(obj < 0 || host.mc.objs[obj].kind != FSLMC_DPRC);
	}
	fslmc_execute(&host.mc, (unsigned)host_portal, cmd);
	return 0;
}

static int fake_attach(void *opaque, struct fslmc_fwd *f, unsigned obj)
{
	const struct fslmc_fwd_obj *o = &f->objs[obj];

	CHECK(f == &fwd && obj > 0 && obj < FSLMC_MAX_OBJECTS && o->used && !o->attached);
	CHECK(!host.attached[obj]);
	if (host.fail_attach)
		return -EIO;
	int h = fslmc_find(&host.mc, o->kind, o->id);

	if (h < 0 || !host.mc.objs[h].plugged)
		return -ENODEV; /* no such device on the host's bus */
	const struct fslmc_obj *ho = &host.mc.objs[h];

	if (o->kind == FSLMC_DPRC || o->kind == FSLMC_DPMCP) {
		if (!fslmc_fwd_map_portal(f, obj))
			return -ENOSPC;
		host.portal_host[f->objs[obj].portal] = h;
		host.portal_gen[f->objs[obj].portal] = host.gen[h];
	} else {
		/* As devices/vfio/fslmc.c: the device's regions, as many as the object has. */
		for (unsigned r = 0; r < ho->region_count && r < FSLMC_MAX_REGIONS &&
				     r < o->region_count; r++) {
			uint64_t size = host.region_size ? host.region_size : ho->regions[r].size;

			if (!fslmc_fwd_map_region(f, obj, r, size))
				return -ENOSPC;
		}
	}
	host.attached[obj] = true;
	host.attaches++;
	return 0;
}

static void fake_detach(void *opaque, struct fslmc_fwd *f, unsigned obj)
{
	CHECK(obj > 0 && obj < FSLMC_MAX_OBJECTS && host.attached[obj]);
	host.attached[obj] = false;
	host.detaches++;
}

static int fake_program(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data)
{
	CHECK(obj < FSLMC_MAX_OBJECTS && fwd.objs[obj].used && irq < FSLMC_MAX_IRQS);
	CHECK(obj == 0 || host.attached[obj]); /* routed through its host device */
	return host.fail_program ? -ENOSPC : 0;
}

static void host_released(void *opaque, unsigned obj)
{
	host.gen[obj]++;
}

/* ---- setup ---- */

static void add_obj(unsigned kind, uint32_t id, uint32_t container, uint8_t regions, bool plugged)
{
	struct fslmc_obj_config *o = &host.objects[host.config.object_count++];

	fslmc_kind_defaults(kind, &o->ver_major, &o->ver_minor, &o->irq_count, &o->region_count);
	o->kind = kind;
	o->id = id;
	o->container = container;
	o->plugged = plugged;
	o->icid = id;
	o->region_size = (uint32_t)FSLMC_WINDOW_SIZE;
	if (kind == FSLMC_DPRC || kind == FSLMC_DPMCP) {
		o->region_count = 1;
		o->region_size = (uint32_t)FSLMC_PORTAL_SIZE;
	} else {
		o->region_count = regions;
	}
}

static void setup_once(void)
{
	const struct fslmc_fwd_host_ops ops = {
		.send = fake_send, .attach = fake_attach, .detach = fake_detach,
		.irq_program = fake_program, .opaque = &host,
	};
	const struct fslmc_hooks hooks = { .obj_released = host_released };

	memset(&host, 0, sizeof(host));
	host.config = (struct fslmc_config){
		.base = HOST_BASE, .polled = true, .root_id = 1, .root_icid = 1, .dprc_major = 6,
		.dprc_minor = 6, .fw_major = 10, .fw_minor = 32, .test_hook = true,
		.objects = host.objects,
	};
	add_obj(FSLMC_DPMCP, 1, 1, 0, true);
	add_obj(FSLMC_DPMCP, 2, 1, 0, true);
	add_obj(FSLMC_DPIO, 1, 1, 2, true);
	add_obj(FSLMC_DPBP, 1, 1, 0, true);
	add_obj(FSLMC_DPNI, 1, 1, 0, true);
	add_obj(FSLMC_DPCON, 1, 1, 1, true);
	add_obj(FSLMC_DPRC, 2, 1, 0, true);
	add_obj(FSLMC_DPMCP, 3, 2, 0, true);
	add_obj(FSLMC_DPNI, 2, 2, 0, false);
	add_obj(FSLMC_DPIO, 2, 2, 3, true);
	add_obj(FSLMC_DPRC, 3, 2, 0, true);
	add_obj(FSLMC_DPBP, 2, 3, 0, true);
	CHECK(fslmc_init(&host.mc, &host.config, &hooks) == 0);
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++)
		host.portal_host[p] = -1;
	host.portal_host[0] = 0;
	fslmc_fwd_init(&fwd, "fuzz", GUEST_BASE, &ops);
	CHECK(fslmc_fwd_scan(&fwd) == 0);
}

/*
 * The host and the forwarder right after the scan, restored for every input:
 * both are plain data (their pointers lead to the statics here), and a
 * scan per input would cost more than most inputs.
 */
static void setup(void)
{
	static struct fake_host saved_host;
	static struct fslmc_fwd saved_fwd;
	static bool saved;

	if (!saved) {
		setup_once();
		saved_host = host;
		saved_fwd = fwd;
		saved = true;
		return;
	}
	host = saved_host;
	fwd = saved_fwd;
}

/* ---- invariants ---- */

static void check_tables(void)
{
	unsigned attached = 0;

	CHECK(fwd.objs[0].used && fwd.objs[0].kind == FSLMC_DPRC && fwd.portal_obj[0] == 0);
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++) {
		int o = fwd.portal_obj[p];

		CHECK(o >= -1 && o < FSLMC_MAX_OBJECTS);
		if (o >= 0)
			CHECK(fwd.objs[o].used && fwd.objs[o].portal == (int)p);
	}
	for (unsigned w = 0; w < FSLMC_MAX_WINDOWS; w++) {
		int o = fwd.window_obj[w];

		CHECK(o >= -1 && o < FSLMC_MAX_OBJECTS);
		CHECK(o != 0);
		if (o >= 0)
			CHECK(fwd.objs[o].used);
	}
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		const struct fslmc_fwd_obj *o = &fwd.objs[i];

		if (!o->used) {
			CHECK(!o->attached && !host.attached[i]);
			continue;
		}
		if (i > 0) {
			CHECK(o->attached == host.attached[i]);
			attached += o->attached;
		}
		CHECK(o->kind > 0 && o->kind < FSLMC_KIND_COUNT);
		CHECK(o->container != i);
		if (i == 0)
			CHECK(o->container == -1);
		else if (o->container != FSLMC_FWD_CONTAINER_UNKNOWN)
			CHECK(o->container >= 0 && o->container < FSLMC_MAX_OBJECTS &&
			      fwd.objs[o->container].used &&
			      fwd.objs[o->container].kind == FSLMC_DPRC);
		if (o->portal >= 0)
			CHECK(o->portal < FSLMC_MAX_PORTALS && fwd.portal_obj[o->portal] == i);
		for (unsigned r = 0; r < FSLMC_MAX_REGIONS; r++) {
			const struct fslmc_fwd_region *region = &o->regions[r];

			if (!region->mapped)
				continue;
			if (region->type == MC_REGION_MC_PORTAL) {
				CHECK(r == 0 && o->portal >= 0 &&
				      region->gpa == GUEST_BASE + (uint64_t)o->portal * FSLMC_PORTAL_SIZE);
				continue;
			}
			uint64_t off = region->gpa - GUEST_BASE - FSLMC_PORTAL_AREA;

			CHECK(region->gpa >= GUEST_BASE + FSLMC_PORTAL_AREA && off < FSLMC_WINDOW_AREA &&
			      off % FSLMC_WINDOW_SIZE == 0);
			CHECK(fwd.window_obj[off / FSLMC_WINDOW_SIZE] == i);
		}
	}
	CHECK(attached == host.attaches - host.detaches);
	for (unsigned s = 0; s < FSLMC_FWD_MAX_SESSIONS; s++) {
		const struct fslmc_fwd_session *session = &fwd.sessions[s];

		if (session->used)
			CHECK(session->portal < FSLMC_MAX_PORTALS && session->obj < FSLMC_MAX_OBJECTS &&
			      fwd.objs[session->obj].used);
	}
}

static void check_host(void)
{
	char why[256];

	CHECK(fslmc_check(&host.mc, why, sizeof(why)) == 0);
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		for (unsigned irq = 0; host.mc.objs[i].used && irq < FSLMC_MAX_IRQS; irq++)
			CHECK(host.mc.objs[i].irqs[irq].addr == 0 && host.mc.objs[i].irqs[irq].data == 0);
	}
}

/* The forwarder's object for (type name at `type_off`, id): index or -1. */
static int named_obj(const uint8_t *params, unsigned type_off, unsigned id_off)
{
	const char *type = (const char *)params + type_off;
	const char *nul = memchr(type, '\0', MC_TYPE_LEN);
	unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;

	return kind ? fslmc_fwd_find(&fwd, kind, (uint32_t)mc_get(params, id_off, 4)) : -1;
}

/* What Linux makes of a GET_OBJ_REG answer, checked against the guest's windows. */
static void check_obj_reg(const struct fslmc_cmd *in, const struct fslmc_cmd *out)
{
	unsigned version = mc_cmd_version(mc_hdr_cmd_id(out->header));
	uint8_t type = out->params[20];
	uint64_t window = GUEST_BASE + (type == MC_REGION_MC_PORTAL ? 0 : FSLMC_PORTAL_AREA);
	uint64_t offset = mc_get(out->params, 8, 8);
	uint64_t base = version >= 2 ? mc_get(out->params, 32, 8) : window;
	uint64_t gpa = base + offset;
	int obj = named_obj(in->params, 24, 0);
	unsigned index = in->params[6];

	CHECK(version >= 1 && version <= 3);
	CHECK(type == MC_REGION_MC_PORTAL || type == MC_REGION_QBMAN_PORTAL);
	CHECK(base == window);
	CHECK(obj >= 0 && index < FSLMC_MAX_REGIONS && fwd.objs[obj].regions[index].mapped &&
	      fwd.objs[obj].regions[index].gpa == gpa);
	if (type == MC_REGION_MC_PORTAL) {
		CHECK(offset < FSLMC_PORTAL_AREA && offset % FSLMC_PORTAL_SIZE == 0);
		CHECK(fwd.portal_obj[offset / FSLMC_PORTAL_SIZE] == obj);
	} else {
		CHECK(offset < FSLMC_WINDOW_AREA && offset % FSLMC_WINDOW_SIZE == 0);
		CHECK(fwd.window_obj[offset / FSLMC_WINDOW_SIZE] == obj);
	}
}

/* GET_IRQ on an object's token: the guest's own MSI (what it set), or zeros. */
static void check_get_irq(unsigned portal, const struct fslmc_cmd *in, const struct fslmc_cmd *out)
{
	uint16_t token = mc_hdr_token(in->header);
	int obj = -1;

	for (unsigned s = 0; token && s < FSLMC_FWD_MAX_SESSIONS; s++) {
		if (fwd.sessions[s].used && fwd.sessions[s].portal == portal &&
		    fwd.sessions[s].token == token)
			obj = fwd.sessions[s].obj;
	}
	unsigned index = in->params[4];
	const struct fslmc_fwd_irq *irq = obj >= 0 && index < FSLMC_MAX_IRQS
						  ? &fwd.objs[obj].irqs[index] : NULL;

	CHECK(mc_get(out->params, 0, 4) == (irq ? irq->data : 0));
	CHECK(mc_get(out->params, 8, 8) == (irq ? irq->addr : 0));
}

static void check_window(uint32_t offset)
{
	unsigned region = 0;
	uint64_t region_offset = 0;
	int owner = fslmc_fwd_window_owner(&fwd, offset, &region, &region_offset);

	if (owner < 0)
		return;
	CHECK(offset < FSLMC_WINDOW_AREA && owner < FSLMC_MAX_OBJECTS && fwd.objs[owner].used);
	CHECK(fwd.window_obj[offset / FSLMC_WINDOW_SIZE] == owner && region < FSLMC_MAX_REGIONS);
	const struct fslmc_fwd_region *r = &fwd.objs[owner].regions[region];

	CHECK(r->mapped && r->type != MC_REGION_MC_PORTAL);
	CHECK(r->gpa + region_offset == GUEST_BASE + FSLMC_PORTAL_AREA + offset);
	/* Every window from the region's start up to the address is the owner's. */
	for (uint64_t w = (r->gpa - GUEST_BASE - FSLMC_PORTAL_AREA) / FSLMC_WINDOW_SIZE;
	     w <= offset / FSLMC_WINDOW_SIZE; w++)
		CHECK(fwd.window_obj[w] == owner);
}

/* ---- one record ---- */

static void host_event(const uint8_t *rec)
{
	switch (rec[1]) {
	case 0xf0: {
		int containers[FSLMC_MAX_OBJECTS], n = 0;

		for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
			if (host.mc.objs[i].used && host.mc.objs[i].kind == FSLMC_DPRC)
				containers[n++] = i;
		}
		struct fslmc_new_obj desc = {
			.kind = rec[3] % (FSLMC_KIND_COUNT - 1) + 1, .id = rec[4] % 8,
			.irq_count = rec[5] % (FSLMC_MAX_IRQS + 1),
			.region_count = rec[6] % (FSLMC_MAX_REGIONS + 1),
		};

		fslmc_obj_add(&host.mc, containers[rec[2] % n], &desc);
		break;
	}
	case 0xf1:
		fslmc_obj_remove(&host.mc, rec[2] % FSLMC_MAX_OBJECTS);
		break;
	case 0xf2:
		host.fail_send = rec[2] % 3 == 1 ? -ETIMEDOUT : rec[2] % 3 == 2 ? -EIO : 0;
		break;
	case 0xf3:
		host.fail_attach = rec[2] & 1;
		break;
	case 0xf4:
		host.fail_program = rec[2] & 1;
		break;
	case 0xf5:
		host.region_size = sizes[rec[2] % (sizeof(sizes) / sizeof(sizes[0]))];
		break;
	default:
		check_window((uint32_t)mc_get(rec + 8, 0, 4) % (uint32_t)(FSLMC_WINDOW_AREA + 0x20000));
		break;
	}
}

static uint16_t pick_token(const uint8_t *rec)
{
	if (rec[2] == 0xff)
		return 0;
	if (rec[2] >= 0x80 || !host.token_count)
		return (uint16_t)(rec[4] | rec[5] << 8);
	return host.tokens[rec[2] % host.token_count];
}

static void one_command(const uint8_t *rec)
{
	unsigned portal = rec[0] % 17 == 16 ? 99 : rec[0] % 17;
	uint16_t cmd_id = rec[1] < 0xe0 ? commands[rec[1] % (sizeof(commands) / sizeof(commands[0]))]
				       : (uint16_t)(rec[6] | rec[7] << 8);
	struct fslmc_cmd cmd;

	memcpy(cmd.params, rec + 8, sizeof(cmd.params));
	if (rec[3] & 0x80) {
		const char *type = type_names[(rec[3] >> 1) & 0xf];

		memset(cmd.params + 24, 0, MC_TYPE_LEN);
		memcpy(cmd.params + 24, type, strlen(type));
		memset(cmd.params + 8, 0, MC_TYPE_LEN);
		memcpy(cmd.params + 8, type, strlen(type));
		mc_put(cmd.params, 0, 4, cmd.params[0] & 3);
		mc_put(cmd.params, 20, 4, cmd.params[20] & 3);
		cmd.params[6] &= 3;
		cmd.params[4] &= 7;
	}
	cmd.header = mc_hdr_encode(cmd_id, pick_token(rec), 0, rec[3] & 1, MC_READY);
	const struct fslmc_cmd in = cmd;

	fslmc_fwd_execute(&fwd, portal, &cmd);
	uint8_t status = mc_hdr_status(cmd.header);
	unsigned number = mc_cmd_number(cmd_id);

	CHECK(status == MC_OK || (status >= MC_AUTH_ERR && status <= MC_INVALID_STATE));
	CHECK(mc_hdr_cmd_id(cmd.header) == cmd_id);
	if (status != MC_OK)
		return;
	bool dprc_numbered = number == MC_CMD_DPRC_GET_OBJ_REG;

	if (number > MC_CMD_OPEN_BASE && number < MC_CMD_OPEN_BASE + FSLMC_KIND_COUNT) {
		host.tokens[host.token_next++ % MAX_TOKENS] = mc_hdr_token(cmd.header);
		if (host.token_count < MAX_TOKENS)
			host.token_count++;
	} else if (dprc_numbered) {
		/* On a DPRC token (a DPNI's 0x15e is something else) */
		int obj = -1;

		for (unsigned s = 0; s < FSLMC_FWD_MAX_SESSIONS; s++) {
			if (fwd.sessions[s].used && fwd.sessions[s].portal == portal &&
			    fwd.sessions[s].token == mc_hdr_token(in.header))
				obj = fwd.sessions[s].obj;
		}
		if (obj < 0 || fwd.objs[obj].kind == FSLMC_DPRC)
			check_obj_reg(&in, &cmd);
	} else if (number == MC_CMD_GET_IRQ) {
		check_get_irq(portal, &in, &cmd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_ERROR);
	setup();
	check_tables();
	check_host();
	for (size_t off = 0; off + MC_CMD_SIZE <= size; off += MC_CMD_SIZE) {
		const uint8_t *rec = data + off;

		if (rec[1] >= 0xf0)
			host_event(rec);
		else
			one_command(rec);
		check_tables();
		check_host();
	}
	fslmc_fwd_clear(&fwd);
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++)
		CHECK(!host.attached[i]);
	CHECK(host.attaches == host.detaches);
	fslmc_clear(&host.mc);
	return 0;
}
