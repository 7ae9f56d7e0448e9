/* SPDX-License-Identifier: MIT */
/*
 * The MC command forwarder of a passed-through DPRC (forward.h): which
 * commands go to the host MC as they are, which are answered here, and
 * how host answers are made fit for the guest.
 */
#include "devices/fslmc/forward.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

/* DPRC commands that would change what the container holds or how it is isolated. */
#define DPRC_CMD_CREATE_CONT     0x151
#define DPRC_CMD_DESTROY_CONT    0x152
#define DPRC_CMD_SET_RES_QUOTA   0x155
#define DPRC_CMD_ASSIGN          0x157
#define DPRC_CMD_UNASSIGN        0x158
#define DPRC_CMD_GET_OBJ_IRQ     0x160
#define DPRC_CMD_GET_PORTAL_PADDR 0x16b
/* Object CREATE (0x900 + type code) and DESTROY (0x980 + type code), sent to a DPRC. */
#define MC_CMD_CREATE_BASE       0x900
#define MC_CMD_DESTROY_BASE      0x980

#define HOST_FLAGS_INTERNAL      MC_FLAG_SW_INTR_DIS

/* What a guest can make happen again and again is a warning once, then debug. */
enum fwd_warning {
	WARN_OBJECTS = 1u << 0, WARN_PORTALS = 1u << 1, WARN_WINDOWS = 1u << 2,
	WARN_HOST = 1u << 3, WARN_ROUTE = 1u << 4, WARN_TOKEN = 1u << 5, WARN_REGION = 1u << 6,
};

static enum log_level warn_level(struct fslmc_fwd *fwd, enum fwd_warning which)
{
	bool first = !(fwd->warned & which);

	fwd->warned |= which;
	return first ? LOG_WARN : LOG_DEBUG;
}

#define fwd_warn(fwd, which, ...)                                            \
	do {                                                                 \
		enum log_level level_ = warn_level((fwd), (which));          \
		if (log_get_level() >= level_)                               \
			log_message(level_, __VA_ARGS__);                    \
	} while (0)

uint8_t fslmc_fwd_errno_status(int err)
{
	/* What the MC itself would have said: no answer in time, or the portal is gone. */
	return err == -ETIMEDOUT ? MC_TIMEOUT : MC_INVALID_STATE;
}

/* ---- objects and guest addresses ---- */

int fslmc_fwd_find(const struct fslmc_fwd *fwd, unsigned kind, uint32_t id)
{
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (fwd->objs[i].used && fwd->objs[i].kind == kind && fwd->objs[i].id == id)
			return i;
	}
	return -1;
}

int fslmc_fwd_portal_container(const struct fslmc_fwd *fwd, unsigned portal)
{
	if (portal >= FSLMC_MAX_PORTALS || fwd->portal_obj[portal] < 0)
		return -1;
	int owner = fwd->portal_obj[portal];

	return fwd->objs[owner].kind == FSLMC_DPRC ? owner : fwd->objs[owner].container;
}

int fslmc_fwd_window_owner(const struct fslmc_fwd *fwd, uint64_t offset, unsigned *region,
			   uint64_t *region_offset)
{
	if (offset >= FSLMC_WINDOW_AREA)
		return -1;
	int owner = fwd->window_obj[offset / FSLMC_WINDOW_SIZE];

	if (owner < 0)
		return -1;
	uint64_t gpa = fwd->base + FSLMC_PORTAL_AREA + offset;
	const struct fslmc_fwd_obj *o = &fwd->objs[owner];
	int best = -1;

	/* The region that starts at or below the address, nearest to it. */
	for (unsigned r = 0; r < o->region_count && r < FSLMC_MAX_REGIONS; r++) {
		if (!o->regions[r].mapped || o->regions[r].type == MC_REGION_MC_PORTAL ||
		    o->regions[r].gpa > gpa)
			continue;
		if (best < 0 || o->regions[r].gpa > o->regions[best].gpa)
			best = (int)r;
	}
	if (best < 0)
		return -1;
	*region = (unsigned)best;
	*region_offset = gpa - o->regions[best].gpa;
	return owner;
}

static int new_object(struct fslmc_fwd *fwd, unsigned kind, uint32_t id, int container)
{
	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++) {
		if (fwd->objs[i].used)
			continue;
		fwd->objs[i] = (struct fslmc_fwd_obj){
			.used = true, .plugged = true, .kind = (uint8_t)kind, .id = id,
			.container = container, .portal = -1,
		};
		return i;
	}
	fwd_warn(fwd, WARN_OBJECTS, "%s: more than %d objects; %s.%u is not forwarded", fwd->name,
		 FSLMC_MAX_OBJECTS, fslmc_kind_name(kind), id);
	return -1;
}

uint64_t fslmc_fwd_map_portal(struct fslmc_fwd *fwd, unsigned obj)
{
	struct fslmc_fwd_obj *o = &fwd->objs[obj];

	if (o->portal >= 0)
		return fwd->base + (uint64_t)o->portal * FSLMC_PORTAL_SIZE;
	for (int p = 1; p < FSLMC_MAX_PORTALS; p++) {
		if (fwd->portal_obj[p] >= 0)
			continue;
		fwd->portal_obj[p] = (int)obj;
		o->portal = p;
		o->regions[0] = (struct fslmc_fwd_region){
			.mapped = true, .type = MC_REGION_MC_PORTAL,
			.gpa = fwd->base + (uint64_t)p * FSLMC_PORTAL_SIZE,
		};
		return o->regions[0].gpa;
	}
	fwd_warn(fwd, WARN_PORTALS, "%s: no free MC portal window for %s.%u (at most %d)", fwd->name,
		 fslmc_kind_name(o->kind), o->id, FSLMC_MAX_PORTALS);
	return 0;
}

uint64_t fslmc_fwd_map_region(struct fslmc_fwd *fwd, unsigned obj, unsigned index, uint64_t size)
{
	struct fslmc_fwd_obj *o = &fwd->objs[obj];
	/* Rounded up without overflow: a size near 2^64 must not wrap to 0 windows. */
	uint64_t count = size ? size / FSLMC_WINDOW_SIZE + (size % FSLMC_WINDOW_SIZE != 0) : 1;

	if (index >= FSLMC_MAX_REGIONS)
		return 0;
	if (o->regions[index].mapped)
		return o->regions[index].gpa;
	/* First fit of `count` consecutive free windows. */
	for (uint64_t w = 0; w + count <= FSLMC_MAX_WINDOWS; w++) {
		uint64_t n = 0;

		while (n < count && fwd->window_obj[w + n] < 0)
			n++;
		if (n < count) {
			w += n;
			continue;
		}
		for (n = 0; n < count; n++)
			fwd->window_obj[w + n] = (int)obj;
		o->regions[index] = (struct fslmc_fwd_region){
			.mapped = true, .type = MC_REGION_QBMAN_PORTAL,
			.gpa = fwd->base + FSLMC_PORTAL_AREA + w * FSLMC_WINDOW_SIZE,
		};
		return o->regions[index].gpa;
	}
	fwd_warn(fwd, WARN_WINDOWS, "%s: no room in the register windows for region %u of %s.%u (%#llx bytes)",
		 fwd->name, index, fslmc_kind_name(o->kind), o->id, (unsigned long long)size);
	return 0;
}

/* Forget obj's guest portal and windows (its host device is gone). */
static void unmap_object(struct fslmc_fwd *fwd, int obj)
{
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++) {
		if (fwd->portal_obj[p] == obj)
			fwd->portal_obj[p] = -1;
	}
	for (unsigned w = 0; w < FSLMC_MAX_WINDOWS; w++) {
		if (fwd->window_obj[w] == obj)
			fwd->window_obj[w] = -1;
	}
	fwd->objs[obj].portal = -1;
	memset(fwd->objs[obj].regions, 0, sizeof(fwd->objs[obj].regions));
}

static bool ensure_attached(struct fslmc_fwd *fwd, int obj)
{
	struct fslmc_fwd_obj *o = &fwd->objs[obj];

	if (o->attached)
		return true;
	if (!o->plugged || o->attach_failed || o->container == FSLMC_FWD_CONTAINER_UNKNOWN ||
	    !fwd->host.attach)
		return false;
	/* One try: a guest must not make the VMM reopen a missing device per command. */
	if (fwd->host.attach(fwd->host.opaque, fwd, (unsigned)obj)) {
		unmap_object(fwd, obj);
		o->attach_failed = true;
		return false;
	}
	o->attached = true;
	return true;
}

static void drop_sessions_of(struct fslmc_fwd *fwd, int obj)
{
	for (unsigned s = 0; s < FSLMC_FWD_MAX_SESSIONS; s++) {
		if (fwd->sessions[s].used && fwd->sessions[s].obj == obj)
			fwd->sessions[s].used = false;
	}
}

static void release_object(struct fslmc_fwd *fwd, int obj)
{
	if (fwd->objs[obj].attached && fwd->host.detach)
		fwd->host.detach(fwd->host.opaque, fwd, (unsigned)obj);
	unmap_object(fwd, obj);
	drop_sessions_of(fwd, obj);
	memset(&fwd->objs[obj], 0, sizeof(fwd->objs[obj]));
}

/* An object left the host tree: it and, for a DPRC, everything in it. */
static void remove_subtree(struct fslmc_fwd *fwd, int obj, unsigned depth)
{
	if (depth > FSLMC_MAX_OBJECTS)
		return;
	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++) {
		if (fwd->objs[i].used && fwd->objs[i].container == obj && i != obj)
			remove_subtree(fwd, i, depth + 1);
	}
	release_object(fwd, obj);
}

/* ---- sessions: guest portal + host token -> object ---- */

static int session_obj(const struct fslmc_fwd *fwd, unsigned portal, uint16_t token)
{
	for (unsigned s = 0; token && s < FSLMC_FWD_MAX_SESSIONS; s++) {
		const struct fslmc_fwd_session *session = &fwd->sessions[s];

		if (session->used && session->portal == portal && session->token == token)
			return session->obj;
	}
	return -1;
}

/*
 * The host MC closes sessions we never hear of (a container reset), so a
 * full table evicts its oldest entry, most likely one of those.
 */
static void session_add(struct fslmc_fwd *fwd, unsigned portal, uint16_t token, int obj)
{
	struct fslmc_fwd_session *slot = NULL;

	for (unsigned s = 0; s < FSLMC_FWD_MAX_SESSIONS; s++) {
		struct fslmc_fwd_session *session = &fwd->sessions[s];

		if (session->used && session->portal == portal && session->token == token) {
			slot = session; /* the host reused a token we thought open */
			break;
		}
		if (!slot || (slot->used && (!session->used || session->stamp < slot->stamp)))
			slot = session;
	}
	*slot = (struct fslmc_fwd_session){
		.used = true, .portal = (uint16_t)portal, .token = token, .obj = (uint16_t)obj,
		.stamp = ++fwd->clock,
	};
}

static void session_remove(struct fslmc_fwd *fwd, unsigned portal, uint16_t token)
{
	for (unsigned s = 0; s < FSLMC_FWD_MAX_SESSIONS; s++) {
		struct fslmc_fwd_session *session = &fwd->sessions[s];

		if (session->used && session->portal == portal && session->token == token)
			session->used = false;
	}
}

/* ---- talking to the host ---- */

static struct fslmc_cmd host_cmd(uint16_t cmd_id, uint16_t token, uint64_t guest_header)
{
	/* Keep the guest's flags, so a probe on a DPMCP portal completes as its command would. */
	uint8_t flags_hw = (uint8_t)(guest_header >> 8), flags_sw = mc_hdr_flags_sw(guest_header);

	return (struct fslmc_cmd){ .header = mc_hdr_encode(cmd_id, token, flags_hw, flags_sw,
							   MC_READY) };
}

/* Send and return the host's status; a failed portal access becomes an MC status. */
static uint8_t host_send(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd)
{
	uint64_t header = cmd->header;
	int rc = fwd->host.send(fwd->host.opaque, portal, cmd);

	if (!rc && mc_hdr_status(cmd->header) == MC_READY)
		rc = -ETIMEDOUT;
	if (rc) {
		fwd->host_errors++;
		fwd_warn(fwd, WARN_HOST, "%s: host MC portal behind guest portal %u, command %#x: %s", fwd->name,
			 portal, mc_hdr_cmd_id(header), strerror(-rc));
		cmd->header = mc_hdr_set_status(header, fslmc_fwd_errno_status(rc));
	}
	return mc_hdr_status(cmd->header);
}

/* ---- scan ---- */

/* Commands of the scan go through the root portal with INTR_DIS. */
static uint8_t scan_send(struct fslmc_fwd *fwd, struct fslmc_cmd *cmd)
{
	return host_send(fwd, 0, cmd);
}

/* Record the objects of container `container` (opened as `token`); children DPRCs queued. */
static int scan_container(struct fslmc_fwd *fwd, int container, uint16_t token)
{
	struct fslmc_cmd cmd = host_cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ_COUNT, 1), token,
					HOST_FLAGS_INTERNAL << 24);
	uint8_t status = scan_send(fwd, &cmd);

	if (status != MC_OK) {
		log_error("%s: GET_OBJ_COUNT of dprc.%u: MC status %#x", fwd->name,
			  fwd->objs[container].id, status);
		return -EIO;
	}
	uint32_t count = (uint32_t)mc_get(cmd.params, 4, 4);

	/* Every GET_OBJ is a host command: a count far past what the table can
	 * hold would only stall realize listing objects the guest cannot reach. */
	if (count > FSLMC_SCAN_MAX_OBJECTS) {
		log_warn("%s: dprc.%u reports %u objects; scanning the first %u", fwd->name,
			 fwd->objs[container].id, count, FSLMC_SCAN_MAX_OBJECTS);
		count = FSLMC_SCAN_MAX_OBJECTS;
	}
	for (uint32_t i = 0; i < count; i++) {
		cmd = host_cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ, 1), token, HOST_FLAGS_INTERNAL << 24);
		mc_put(cmd.params, 0, 4, i);
		if ((status = scan_send(fwd, &cmd)) != MC_OK) {
			log_error("%s: GET_OBJ %u of dprc.%u: MC status %#x", fwd->name, i,
				  fwd->objs[container].id, status);
			return -EIO;
		}
		const char *type = (const char *)cmd.params + 24;
		const char *nul = memchr(type, '\0', MC_TYPE_LEN);
		unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;
		uint32_t id = (uint32_t)mc_get(cmd.params, 4, 4);

		if (!kind) {
			log_warn("%s: dprc.%u holds an object of unknown type; not forwarded",
				 fwd->name, fwd->objs[container].id);
			continue;
		}
		int obj = fslmc_fwd_find(fwd, kind, id);

		if (obj < 0 && (obj = new_object(fwd, kind, id, container)) < 0)
			continue; /* logged: the guest can list it but not reach it */
		fwd->objs[obj].container = container;
		fwd->objs[obj].irq_count = cmd.params[10];
		fwd->objs[obj].region_count = cmd.params[11];
		fwd->objs[obj].plugged = mc_get(cmd.params, 12, 4) & MC_OBJ_STATE_PLUGGED;
	}
	return 0;
}

static int scan_open_and_list(struct fslmc_fwd *fwd, int container)
{
	struct fslmc_cmd cmd = host_cmd(MC_CMD_ID(MC_CMD_OPEN_BASE + FSLMC_DPRC, 1), 0,
					HOST_FLAGS_INTERNAL << 24);
	uint8_t status;

	mc_put(cmd.params, 0, 4, fwd->objs[container].id);
	if ((status = scan_send(fwd, &cmd)) != MC_OK) {
		log_error("%s: OPEN of dprc.%u: MC status %#x", fwd->name, fwd->objs[container].id,
			  status);
		return -EIO;
	}
	uint16_t token = mc_hdr_token(cmd.header);
	int rc = scan_container(fwd, container, token);

	cmd = host_cmd(MC_CMD_ID(MC_CMD_CLOSE, 1), token, HOST_FLAGS_INTERNAL << 24);
	scan_send(fwd, &cmd);
	return rc;
}

int fslmc_fwd_scan(struct fslmc_fwd *fwd)
{
	struct fslmc_cmd cmd = host_cmd(MC_CMD_ID(MC_CMD_DPRC_GET_CONT_ID, 1), 0,
					HOST_FLAGS_INTERNAL << 24);
	uint8_t status = scan_send(fwd, &cmd);
	int rc;

	if (status != MC_OK) {
		log_error("%s: the DPRC's MC portal answers GET_CONT_ID with MC status %#x",
			  fwd->name, status);
		return -EIO;
	}
	fwd->objs[0].id = (uint32_t)mc_get(cmd.params, 0, 4);
	/* Breadth first: the list grows while it is walked; objects keep the host's order. */
	for (int i = 0; i < FSLMC_MAX_OBJECTS; i++) {
		if (!fwd->objs[i].used || fwd->objs[i].kind != FSLMC_DPRC)
			continue;
		if (i != 0 && !fwd->objs[i].plugged)
			continue;
		if ((rc = scan_open_and_list(fwd, i)))
			return rc;
	}
	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++) {
		if (fwd->objs[i].used && fwd->objs[i].plugged && !ensure_attached(fwd, i))
			log_warn("%s: %s.%u stays unreachable: its host device could not be attached",
				 fwd->name, fslmc_kind_name(fwd->objs[i].kind), fwd->objs[i].id);
	}
	return 0;
}

/* ---- virtualized interrupt commands ---- */

/* index_checked: the host already accepted the index (a probe on the object's token). */
static uint8_t route_irq(struct fslmc_fwd *fwd, int obj, unsigned index, bool index_checked,
			 const uint8_t *params)
{
	struct fslmc_fwd_obj *o = &fwd->objs[obj];
	uint64_t addr = mc_get(params, 8, 8);
	uint32_t data = (uint32_t)mc_get(params, 0, 4);

	if ((!index_checked && index >= o->irq_count) || index >= FSLMC_MAX_IRQS)
		return MC_CONFIG_ERR;
	if (!ensure_attached(fwd, obj)) {
		fwd_warn(fwd, WARN_ROUTE, "%s: IRQ %u of %s.%u cannot be routed: no host device", fwd->name, index,
			 fslmc_kind_name(o->kind), o->id);
		return MC_NO_RESOURCE;
	}
	if (!fwd->host.irq_program ||
	    fwd->host.irq_program(fwd->host.opaque, (unsigned)obj, index, addr, data))
		return MC_NO_RESOURCE;
	o->irqs[index] = (struct fslmc_fwd_irq){
		.addr = addr, .data = data, .irq_num = (uint32_t)mc_get(params, 16, 4),
		.routed = true,
	};
	fwd->virtualized++;
	return MC_OK;
}

/* SET_IRQ on an object's own token. */
static uint8_t virt_set_irq(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd)
{
	uint16_t token = mc_hdr_token(cmd->header);
	struct fslmc_cmd probe = host_cmd(MC_CMD_ID(MC_CMD_GET_IRQ, 1), token, cmd->header);
	uint8_t status;

	probe.params[4] = cmd->params[4];
	/* The host checks token, type and index as it would for SET_IRQ. */
	if ((status = host_send(fwd, portal, &probe)) != MC_OK)
		return status;
	if (mc_cmd_version(mc_hdr_cmd_id(cmd->header)) != 1)
		return MC_UNSUPPORTED_OP;
	int obj = session_obj(fwd, portal, token);

	if (obj < 0) {
		fwd_warn(fwd, WARN_TOKEN, "%s: SET_IRQ on a token the VMM did not see opened; refused", fwd->name);
		return MC_NO_RESOURCE;
	}
	return route_irq(fwd, obj, cmd->params[4], true, cmd->params);
}

/* A container's direct child named by type @type_off and id @id_off, or -1. */
static int find_child(struct fslmc_fwd *fwd, int container, const uint8_t *params,
		      unsigned type_off, unsigned id_off)
{
	const char *type = (const char *)params + type_off;
	const char *nul = memchr(type, '\0', MC_TYPE_LEN);
	unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;
	int obj = kind ? fslmc_fwd_find(fwd, kind, (uint32_t)mc_get(params, id_off, 4)) : -1;

	return obj > 0 && fwd->objs[obj].container == container ? obj : -1;
}

/* Learn a container's current children with the guest's own token (hot-plugged objects). */
static void rescan(struct fslmc_fwd *fwd, unsigned portal, int container, uint16_t token)
{
	struct fslmc_cmd cmd = host_cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ_COUNT, 1), token,
					HOST_FLAGS_INTERNAL << 24);

	if (host_send(fwd, portal, &cmd) != MC_OK)
		return;
	uint32_t count = (uint32_t)mc_get(cmd.params, 4, 4);

	for (uint32_t i = 0; i < count && i < FSLMC_MAX_OBJECTS; i++) {
		cmd = host_cmd(MC_CMD_ID(MC_CMD_DPRC_GET_OBJ, 1), token, HOST_FLAGS_INTERNAL << 24);
		mc_put(cmd.params, 0, 4, i);
		if (host_send(fwd, portal, &cmd) != MC_OK)
			return;
		const char *type = (const char *)cmd.params + 24;
		const char *nul = memchr(type, '\0', MC_TYPE_LEN);
		unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;
		uint32_t id = (uint32_t)mc_get(cmd.params, 4, 4);
		int obj = kind ? fslmc_fwd_find(fwd, kind, id) : -1;

		if (kind && obj < 0)
			obj = new_object(fwd, kind, id, container);
		if (obj < 0)
			continue;
		fwd->objs[obj].container = container;
		fwd->objs[obj].irq_count = cmd.params[10];
		fwd->objs[obj].region_count = cmd.params[11];
		fwd->objs[obj].plugged = mc_get(cmd.params, 12, 4) & MC_OBJ_STATE_PLUGGED;
	}
}

/* SET_OBJ_IRQ on a DPRC token for one of its children. */
static uint8_t virt_set_obj_irq(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd)
{
	uint16_t token = mc_hdr_token(cmd->header);
	struct fslmc_cmd probe = host_cmd(MC_CMD_ID(MC_CMD_GET_ATTR, 1), token, cmd->header);
	uint8_t status;

	if ((status = host_send(fwd, portal, &probe)) != MC_OK)
		return status;
	int container = session_obj(fwd, portal, token);

	if (container < 0) {
		fwd_warn(fwd, WARN_TOKEN, "%s: SET_OBJ_IRQ on a token the VMM did not see opened; refused",
			 fwd->name);
		return MC_NO_RESOURCE;
	}
	if (fwd->objs[container].kind != FSLMC_DPRC ||
	    mc_cmd_version(mc_hdr_cmd_id(cmd->header)) != 1)
		return MC_UNSUPPORTED_OP;
	int obj = find_child(fwd, container, cmd->params, 24, 20);

	/* Not seen yet (hot-plugged) or counts unknown: ask the host again. */
	if (obj < 0 || cmd->params[4] >= fwd->objs[obj].irq_count) {
		rescan(fwd, portal, container, token);
		obj = find_child(fwd, container, cmd->params, 24, 20);
	}
	if (obj < 0)
		return MC_CONFIG_ERR;
	return route_irq(fwd, obj, cmd->params[4], false, cmd->params);
}

/* GET_IRQ / GET_OBJ_IRQ answers carry the host's MSI: show the guest its own. */
static void patch_irq_answer(const struct fslmc_fwd *fwd, int obj, unsigned index, uint8_t *out)
{
	const struct fslmc_fwd_irq *irq = obj >= 0 && index < FSLMC_MAX_IRQS
						  ? &fwd->objs[obj].irqs[index] : NULL;

	mc_put(out, 0, 4, irq ? irq->data : 0);
	mc_put(out, 8, 8, irq ? irq->addr : 0);
	mc_put(out, 16, 4, irq ? irq->irq_num : 0);
}

/* ---- rewritten answers ---- */

/* GET_OBJ_REG: the region's guest address, in the version's form. */
static uint8_t rewrite_obj_reg(struct fslmc_fwd *fwd, unsigned portal, uint16_t token,
			       const uint8_t *in, struct fslmc_cmd *answer)
{
	const char *type = (const char *)in + 24;
	const char *nul = memchr(type, '\0', MC_TYPE_LEN);
	unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;
	uint32_t id = (uint32_t)mc_get(in, 0, 4);
	unsigned index = in[6];
	int obj = kind ? fslmc_fwd_find(fwd, kind, id) : -1;
	int container = session_obj(fwd, portal, token);

	if (obj < 0 && kind && container >= 0) {
		/* Hot-plugged: the host knows it; learn it with its counts. */
		rescan(fwd, portal, container, token);
		obj = fslmc_fwd_find(fwd, kind, id);
	}
	if (obj < 0 || index >= FSLMC_MAX_REGIONS)
		return MC_NO_RESOURCE;
	struct fslmc_fwd_obj *o = &fwd->objs[obj];

	if (container >= 0)
		o->container = container; /* the host answers only for its direct children */
	if (index >= o->region_count)
		o->region_count = (uint8_t)(index + 1); /* the host just said it exists */
	if (!ensure_attached(fwd, obj) || !o->regions[index].mapped) {
		fwd_warn(fwd, WARN_REGION, "%s: region %u of %s.%u has no guest address (its host device could not "
			 "be attached or mapped); answering NO_RESOURCE", fwd->name, index,
			 fslmc_kind_name(kind), id);
		return MC_NO_RESOURCE;
	}
	const struct fslmc_fwd_region *region = &o->regions[index];
	uint64_t window = fwd->base + (region->type == MC_REGION_MC_PORTAL ? 0 : FSLMC_PORTAL_AREA);
	unsigned version = mc_cmd_version(mc_hdr_cmd_id(answer->header));

	mc_put(answer->params, 8, 8, region->gpa - window);
	mc_put(answer->params, 32, 8, version >= 2 ? window : 0);
	return MC_OK;
}

/* GET_OBJ: remember which container holds what (for later lookups). */
static void learn_obj(struct fslmc_fwd *fwd, unsigned portal, uint16_t token, const uint8_t *out)
{
	int container = session_obj(fwd, portal, token);
	const char *type = (const char *)out + 24;
	const char *nul = memchr(type, '\0', MC_TYPE_LEN);
	unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;

	if (container < 0 || !kind || fwd->objs[container].kind != FSLMC_DPRC)
		return;
	uint32_t id = (uint32_t)mc_get(out, 4, 4);
	int obj = fslmc_fwd_find(fwd, kind, id);

	if (obj < 0 && (obj = new_object(fwd, kind, id, container)) < 0)
		return;
	struct fslmc_fwd_obj *o = &fwd->objs[obj];

	o->container = container;
	o->plugged = mc_get(out, 12, 4) & MC_OBJ_STATE_PLUGGED;
	if (!o->attached) {
		o->irq_count = out[10];
		o->region_count = out[11];
	}
}

/* OPEN answered OK: the token is a session on (kind, id) through this portal. */
static void track_open(struct fslmc_fwd *fwd, unsigned portal, unsigned kind, uint32_t id,
		       uint16_t token)
{
	int obj = fslmc_fwd_find(fwd, kind, id);

	if (obj < 0) {
		/* Not seen in a scan: a DPRC's container is unknown; others sit in the portal's. */
		int container = kind == FSLMC_DPRC ? FSLMC_FWD_CONTAINER_UNKNOWN
						   : fslmc_fwd_portal_container(fwd, portal);

		if ((obj = new_object(fwd, kind, id, container)) < 0)
			return;
	}
	session_add(fwd, portal, token, obj);
}

/* Whether container `c` is `target` or, for a recursive reset, inside it. */
static bool reset_reaches(const struct fslmc_fwd *fwd, int c, int target, bool recursive)
{
	for (unsigned depth = 0; c >= 0 && depth <= FSLMC_MAX_OBJECTS; depth++) {
		if (c == target)
			return true;
		if (!recursive)
			return false;
		c = fwd->objs[c].container;
	}
	return false;
}

/*
 * RESET_CONT answered OK: the MC closed every session opened through a
 * portal of the reset container(s) but the issuer's, with no CLOSE the
 * forwarder could see. Forget them too: left in the table they fill it,
 * and a full table evicts its oldest entry, which may be a live session
 * the guest keeps (its SET_IRQ would then be refused).
 */
static void track_reset(struct fslmc_fwd *fwd, unsigned portal, uint16_t token, const uint8_t *in,
			unsigned version)
{
	int issuer = session_obj(fwd, portal, token);
	uint32_t options = version >= 2 ? (uint32_t)mc_get(in, 4, 4) : 0;
	int target = fslmc_fwd_find(fwd, FSLMC_DPRC, (uint32_t)mc_get(in, 0, 4));

	/* 0x005 on another object's token is that object's RESET: no sessions close. */
	if (issuer < 0 || fwd->objs[issuer].kind != FSLMC_DPRC || target < 0)
		return;
	for (unsigned s = 0; s < FSLMC_FWD_MAX_SESSIONS; s++) {
		struct fslmc_fwd_session *session = &fwd->sessions[s];

		if (!session->used || (session->portal == portal && session->token == token))
			continue;
		if (reset_reaches(fwd, fslmc_fwd_portal_container(fwd, session->portal), target,
				  !(options & DPRC_RESET_OPTION_NON_RECURSIVE)))
			session->used = false;
	}
}

/* The test hook removed an object on the host: let its device go. */
static void track_remove(struct fslmc_fwd *fwd, const uint8_t *in)
{
	const char *type = (const char *)in + 24;
	const char *nul = memchr(type, '\0', MC_TYPE_LEN);
	unsigned kind = nul ? fslmc_kind_from_name(type, (size_t)(nul - type)) : 0;
	int obj = kind ? fslmc_fwd_find(fwd, kind, (uint32_t)mc_get(in, 0, 4)) : -1;

	if (obj > 0)
		remove_subtree(fwd, obj, 0);
}

/* ---- dispatch ---- */

static bool is_refused(unsigned number)
{
	return number == DPRC_CMD_CREATE_CONT || number == DPRC_CMD_DESTROY_CONT ||
	       number == DPRC_CMD_SET_RES_QUOTA || number == DPRC_CMD_ASSIGN ||
	       number == DPRC_CMD_UNASSIGN || number == DPRC_CMD_GET_PORTAL_PADDR;
}

static bool is_create_destroy(unsigned number)
{
	return (number > MC_CMD_CREATE_BASE && number < MC_CMD_CREATE_BASE + FSLMC_KIND_COUNT) ||
	       (number > MC_CMD_DESTROY_BASE && number < MC_CMD_DESTROY_BASE + FSLMC_KIND_COUNT);
}

/* Whether a DPRC-numbered command should be treated as one: the token is a DPRC's or unknown. */
static bool dprc_token(const struct fslmc_fwd *fwd, unsigned portal, uint16_t token)
{
	int obj = session_obj(fwd, portal, token);

	return obj < 0 || fwd->objs[obj].kind == FSLMC_DPRC;
}

/* Forward as is, then fix what the answer says. Returns the status. */
static uint8_t forward(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd)
{
	const struct fslmc_cmd in = *cmd;
	uint16_t token = mc_hdr_token(in.header);
	unsigned number = mc_cmd_number(mc_hdr_cmd_id(in.header));
	uint8_t status = host_send(fwd, portal, cmd);

	fwd->forwarded++;
	if (status != MC_OK)
		return status;
	if (number > MC_CMD_OPEN_BASE && number < MC_CMD_OPEN_BASE + FSLMC_KIND_COUNT) {
		track_open(fwd, portal, number - MC_CMD_OPEN_BASE, (uint32_t)mc_get(in.params, 0, 4),
			   mc_hdr_token(cmd->header));
	} else if (number == MC_CMD_CLOSE) {
		session_remove(fwd, portal, token);
	} else if (number == MC_CMD_RESET) {
		track_reset(fwd, portal, token, in.params, mc_cmd_version(mc_hdr_cmd_id(in.header)));
	} else if (number == MC_CMD_GET_IRQ) {
		patch_irq_answer(fwd, session_obj(fwd, portal, token), in.params[4], cmd->params);
	} else if (number == DPRC_CMD_GET_OBJ_IRQ && dprc_token(fwd, portal, token)) {
		int container = session_obj(fwd, portal, token);

		patch_irq_answer(fwd, container >= 0 ? find_child(fwd, container, in.params, 8, 0) : -1,
				 in.params[4], cmd->params);
	} else if (number == MC_CMD_DPRC_GET_OBJ_REG && dprc_token(fwd, portal, token)) {
		status = rewrite_obj_reg(fwd, portal, token, in.params, cmd);
	} else if (number == MC_CMD_DPRC_GET_OBJ && dprc_token(fwd, portal, token)) {
		learn_obj(fwd, portal, token, cmd->params);
	} else if (number == MC_CMD_TEST_REMOVE_OBJ && dprc_token(fwd, portal, token)) {
		track_remove(fwd, in.params);
	}
	return status;
}

/* Returns the status; *host_answer says whether *cmd now holds the host's answer. */
static uint8_t dispatch(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd,
			bool *host_answer)
{
	unsigned number = mc_cmd_number(mc_hdr_cmd_id(cmd->header));
	uint16_t token = mc_hdr_token(cmd->header);

	*host_answer = false;
	if (portal >= FSLMC_MAX_PORTALS || fwd->portal_obj[portal] < 0)
		return MC_INVALID_STATE; /* no host portal behind this window */
	if (number == MC_CMD_SET_IRQ)
		return virt_set_irq(fwd, portal, cmd);
	/* Never forwarded, whatever the token: virt_set_obj_irq answers
	 * UNSUPPORTED_OP for a token that is not a DPRC's, as the MC would. */
	if (number == MC_CMD_DPRC_SET_OBJ_IRQ)
		return virt_set_obj_irq(fwd, portal, cmd);
	if (is_create_destroy(number) || (is_refused(number) && dprc_token(fwd, portal, token))) {
		fwd->refused++;
		return MC_NO_PRIVILEGE;
	}
	*host_answer = true;
	return forward(fwd, portal, cmd);
}

void fslmc_fwd_execute(struct fslmc_fwd *fwd, unsigned portal, struct fslmc_cmd *cmd)
{
	const struct fslmc_cmd in = *cmd;
	bool host_answer;
	uint8_t status = dispatch(fwd, portal, cmd, &host_answer);

	/* Answered here: the guest's header and, as the MC does, params
	 * replaced by the (empty) response on OK, left alone on an error. */
	if (!host_answer) {
		*cmd = in;
		if (status == MC_OK)
			memset(cmd->params, 0, sizeof(cmd->params));
	}
	if (status == MC_READY)
		status = MC_INVALID_STATE;
	cmd->header = mc_hdr_set_status(cmd->header, status);
}

/* ---- life ---- */

void fslmc_fwd_init(struct fslmc_fwd *fwd, const char *name, uint64_t base,
		    const struct fslmc_fwd_host_ops *host)
{
	memset(fwd, 0, sizeof(*fwd));
	fwd->name = name;
	fwd->base = base;
	fwd->host = *host;
	for (unsigned p = 0; p < FSLMC_MAX_PORTALS; p++)
		fwd->portal_obj[p] = -1;
	for (unsigned w = 0; w < FSLMC_MAX_WINDOWS; w++)
		fwd->window_obj[w] = -1;
	/* The passed-through DPRC: its portal is guest portal 0 (DT reg[0]); its
	 * device is the one the caller opened. A DPRC has one IRQ. */
	fwd->objs[0] = (struct fslmc_fwd_obj){
		.used = true, .attached = true, .plugged = true, .kind = FSLMC_DPRC,
		.container = -1, .irq_count = 1, .region_count = 1, .portal = 0,
		.regions[0] = { .mapped = true, .type = MC_REGION_MC_PORTAL, .gpa = base },
	};
	fwd->portal_obj[0] = 0;
}

void fslmc_fwd_clear(struct fslmc_fwd *fwd)
{
	for (int i = FSLMC_MAX_OBJECTS; i-- > 1;) {
		if (fwd->objs[i].used)
			release_object(fwd, i);
	}
	memset(fwd->sessions, 0, sizeof(fwd->sessions));
}
