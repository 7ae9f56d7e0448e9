/* SPDX-License-Identifier: MIT */
/*
 * The MC command decoder: every command is validated before it touches the
 * model. Order of checks (docs/devices/fsl-mc.md):
 *   1. a command number no table knows        -> UNSUPPORTED_OP
 *   2. token-less commands (OPEN, GET_VERSION, GET_CONT_ID, GET_API_VERSION)
 *   3. the header token is no open session on this portal -> AUTH_ERR
 *   4. no handler for the token's object type, or a newer version -> UNSUPPORTED_OP
 *   5. parameters the handler rejects        -> CONFIG_ERR (or another MC status)
 */
#include <string.h>

#include "devices/fslmc/fslmc.h"

struct ctx {
	struct fslmc *mc;
	unsigned portal;
	int container;          /* the portal's container */
	unsigned version;
	uint64_t header;        /* the command's */
	const uint8_t *in;
	uint8_t *out;           /* zeroed response params */
	struct fslmc_session *session;
	int obj;                /* the session's object */
	uint16_t token;         /* response token */
};

typedef uint8_t handler_fn(struct ctx *ctx);

struct handler {
	uint16_t number;
	uint8_t max_version;
	handler_fn *fn;
};

static struct fslmc_obj *ctx_obj(const struct ctx *ctx)
{
	return &ctx->mc->objs[ctx->obj];
}

static bool api_at_least(const struct fslmc *mc, unsigned major, unsigned minor)
{
	return mc->config->dprc_major > major ||
	       (mc->config->dprc_major == major && mc->config->dprc_minor >= minor);
}

/* An object type string at params offset off: NUL-terminated within 16 bytes. */
static unsigned param_kind(const struct ctx *ctx, unsigned off)
{
	const char *name = (const char *)ctx->in + off;
	const char *nul = memchr(name, '\0', MC_TYPE_LEN);

	return nul ? fslmc_kind_from_name(name, (size_t)(nul - name)) : 0;
}

/* The object named by (type @type_off, id @id_off) directly in the token's container. */
static int param_child(const struct ctx *ctx, unsigned type_off, unsigned id_off)
{
	unsigned kind = param_kind(ctx, type_off);
	int index = kind ? fslmc_find(ctx->mc, kind, (uint32_t)mc_get(ctx->in, id_off, 4)) : -1;

	return index > 0 && ctx->mc->objs[index].parent == ctx->obj ? index : -1;
}

static bool is_descendant(const struct fslmc *mc, int index, int ancestor)
{
	for (unsigned steps = 0; index >= 0 && steps <= FSLMC_MAX_OBJECTS; steps++) {
		if (index == ancestor)
			return true;
		index = mc->objs[index].parent;
	}
	return false;
}

/* ---- sessions ---- */

static struct fslmc_session *session_find(struct fslmc *mc, uint16_t token, unsigned portal)
{
	for (unsigned s = 0; token && s < FSLMC_MAX_SESSIONS; s++) {
		if (mc->sessions[s].used && mc->sessions[s].token == token &&
		    mc->sessions[s].portal == portal)
			return &mc->sessions[s];
	}
	return NULL;
}

static bool token_in_use(const struct fslmc *mc, uint16_t token)
{
	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++) {
		if (mc->sessions[s].used && mc->sessions[s].token == token)
			return true;
	}
	return false;
}

static uint8_t session_open(struct ctx *ctx, int obj)
{
	struct fslmc *mc = ctx->mc;

	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++) {
		if (mc->sessions[s].used)
			continue;
		do {
			mc->next_token++;
		} while (!mc->next_token || token_in_use(mc, mc->next_token));
		mc->sessions[s] = (struct fslmc_session){
			.used = true, .token = mc->next_token, .obj = (uint16_t)obj,
			.portal = (uint16_t)ctx->portal,
		};
		mc->objs[obj].sessions++;
		ctx->token = mc->next_token;
		return MC_OK;
	}
	return MC_NO_RESOURCE;
}

static uint8_t cmd_close(struct ctx *ctx)
{
	ctx_obj(ctx)->sessions--;
	ctx->session->used = false;
	return MC_OK;
}

/* ---- token-less commands ---- */

static uint8_t cmd_get_version(struct ctx *ctx)
{
	const struct fslmc_config *c = ctx->mc->config;

	mc_put(ctx->out, 0, 4, c->fw_revision);
	mc_put(ctx->out, 4, 4, c->fw_major);
	mc_put(ctx->out, 8, 4, c->fw_minor);
	return MC_OK;
}

static uint8_t cmd_get_cont_id(struct ctx *ctx)
{
	mc_put(ctx->out, 0, 4, ctx->mc->objs[ctx->container].id);
	return MC_OK;
}

static uint8_t cmd_api_version(struct ctx *ctx, unsigned kind)
{
	uint16_t major, minor;
	uint8_t irqs, regions;

	fslmc_kind_defaults(kind, &major, &minor, &irqs, &regions);
	if (kind == FSLMC_DPRC) {
		major = ctx->mc->config->dprc_major;
		minor = ctx->mc->config->dprc_minor;
	}
	mc_put(ctx->out, 0, 2, major);
	mc_put(ctx->out, 2, 2, minor);
	return MC_OK;
}

/* DPRC OPEN: the portal's own container or one below it. */
static uint8_t cmd_open(struct ctx *ctx, unsigned kind)
{
	uint32_t id = (uint32_t)mc_get(ctx->in, 0, 4);
	int index = fslmc_find(ctx->mc, kind, id);

	if (index < 0)
		return MC_CONFIG_ERR;
	if (kind == FSLMC_DPRC) {
		if (!is_descendant(ctx->mc, index, ctx->container))
			return MC_NO_PRIVILEGE;
	} else if (ctx->mc->objs[index].parent != ctx->container) {
		return MC_CONFIG_ERR; /* not in this portal's container */
	}
	return session_open(ctx, index);
}

static uint8_t run_tokenless(struct ctx *ctx, unsigned number)
{
	if (ctx->version != 1)
		return MC_UNSUPPORTED_OP;
	if (number == MC_CMD_DPMNG_GET_VERSION)
		return cmd_get_version(ctx);
	if (number == MC_CMD_DPRC_GET_CONT_ID)
		return cmd_get_cont_id(ctx);
	if (number > MC_CMD_OPEN_BASE && number < MC_CMD_OPEN_BASE + FSLMC_KIND_COUNT)
		return cmd_open(ctx, number - MC_CMD_OPEN_BASE);
	return cmd_api_version(ctx, number - MC_CMD_API_VERSION_BASE);
}

static bool is_tokenless(unsigned number)
{
	return number == MC_CMD_DPMNG_GET_VERSION || number == MC_CMD_DPRC_GET_CONT_ID ||
	       (number > MC_CMD_OPEN_BASE && number < MC_CMD_OPEN_BASE + FSLMC_KIND_COUNT) ||
	       (number > MC_CMD_API_VERSION_BASE &&
		number < MC_CMD_API_VERSION_BASE + FSLMC_KIND_COUNT);
}

/* ---- IRQ commands (any object with IRQs) ---- */

static struct fslmc_irq *param_irq(const struct ctx *ctx, int obj, unsigned off)
{
	unsigned index = ctx->in[off];

	return index < ctx->mc->objs[obj].irq_count ? &ctx->mc->objs[obj].irqs[index] : NULL;
}

static void irq_reevaluate(struct fslmc *mc, int obj, struct fslmc_irq *irq, bool was_pending)
{
	if (!was_pending && irq->enabled && (irq->status & irq->mask) && mc->hooks.irq_raise)
		mc->hooks.irq_raise(mc->hooks.opaque, (unsigned)obj,
				    (unsigned)(irq - mc->objs[obj].irqs));
}

static uint8_t program_irq(struct ctx *ctx, int obj, struct fslmc_irq *irq)
{
	struct fslmc *mc = ctx->mc;
	uint64_t addr = mc_get(ctx->in, 8, 8);
	uint32_t data = (uint32_t)mc_get(ctx->in, 0, 4);

	if (mc->hooks.irq_program &&
	    mc->hooks.irq_program(mc->hooks.opaque, (unsigned)obj,
				  (unsigned)(irq - mc->objs[obj].irqs), addr, data))
		return MC_NO_RESOURCE;
	irq->addr = addr;
	irq->data = data;
	irq->irq_num = (uint32_t)mc_get(ctx->in, 16, 4);
	return MC_OK;
}

static uint8_t cmd_set_irq(struct ctx *ctx)
{
	struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	return irq ? program_irq(ctx, ctx->obj, irq) : MC_CONFIG_ERR;
}

static uint8_t cmd_get_irq(struct ctx *ctx)
{
	const struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	if (!irq)
		return MC_CONFIG_ERR;
	mc_put(ctx->out, 0, 4, irq->data);
	mc_put(ctx->out, 8, 8, irq->addr);
	mc_put(ctx->out, 16, 4, irq->irq_num);
	return MC_OK;
}

static uint8_t cmd_set_irq_enable(struct ctx *ctx)
{
	struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);
	uint8_t enable = ctx->in[0];

	if (!irq || enable > 1)
		return MC_CONFIG_ERR;
	bool was_pending = irq->enabled && (irq->status & irq->mask);

	irq->enabled = enable;
	irq_reevaluate(ctx->mc, ctx->obj, irq, was_pending);
	return MC_OK;
}

static uint8_t cmd_get_irq_enable(struct ctx *ctx)
{
	const struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	if (!irq)
		return MC_CONFIG_ERR;
	ctx->out[0] = irq->enabled;
	return MC_OK;
}

static uint8_t cmd_set_irq_mask(struct ctx *ctx)
{
	struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	if (!irq)
		return MC_CONFIG_ERR;
	bool was_pending = irq->enabled && (irq->status & irq->mask);

	irq->mask = (uint32_t)mc_get(ctx->in, 0, 4);
	irq_reevaluate(ctx->mc, ctx->obj, irq, was_pending);
	return MC_OK;
}

static uint8_t cmd_get_irq_mask(struct ctx *ctx)
{
	const struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	if (!irq)
		return MC_CONFIG_ERR;
	mc_put(ctx->out, 0, 4, irq->mask);
	return MC_OK;
}

static uint8_t cmd_get_irq_status(struct ctx *ctx)
{
	const struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	if (!irq)
		return MC_CONFIG_ERR;
	mc_put(ctx->out, 0, 4, irq->status);
	return MC_OK;
}

static uint8_t cmd_clear_irq_status(struct ctx *ctx)
{
	struct fslmc_irq *irq = param_irq(ctx, ctx->obj, 4);

	if (!irq)
		return MC_CONFIG_ERR;
	irq->status &= ~(uint32_t)mc_get(ctx->in, 0, 4);
	return MC_OK;
}

static void reset_object(struct fslmc_obj *obj)
{
	memset(obj->irqs, 0, sizeof(obj->irqs));
	obj->enabled = false;
}

static uint8_t cmd_reset(struct ctx *ctx)
{
	reset_object(ctx_obj(ctx));
	return MC_OK;
}

static const struct handler generic_handlers[] = {
	{ MC_CMD_CLOSE, 1, cmd_close },
	{ MC_CMD_RESET, 1, cmd_reset },
	{ MC_CMD_SET_IRQ, 1, cmd_set_irq },
	{ MC_CMD_GET_IRQ, 1, cmd_get_irq },
	{ MC_CMD_SET_IRQ_ENABLE, 1, cmd_set_irq_enable },
	{ MC_CMD_GET_IRQ_ENABLE, 1, cmd_get_irq_enable },
	{ MC_CMD_SET_IRQ_MASK, 1, cmd_set_irq_mask },
	{ MC_CMD_GET_IRQ_MASK, 1, cmd_get_irq_mask },
	{ MC_CMD_GET_IRQ_STATUS, 1, cmd_get_irq_status },
	{ MC_CMD_CLEAR_IRQ_STATUS, 1, cmd_clear_irq_status },
	{ 0, 0, NULL },
};

/* ---- DPRC ---- */

static uint8_t dprc_get_attr(struct ctx *ctx)
{
	const struct fslmc_obj *obj = ctx_obj(ctx);

	mc_put(ctx->out, 0, 4, obj->id);
	mc_put(ctx->out, 4, 2, obj->icid);
	mc_put(ctx->out, 8, 4, obj->options);
	mc_put(ctx->out, 12, 4, (uint32_t)obj->portal);
	return MC_OK;
}

/*
 * Close the sessions owned by the reset containers (opened through their
 * portals), except the one issuing the reset, and return their objects to
 * their initial state.
 */
static void reset_container(struct ctx *ctx, int container, bool recursive, unsigned depth)
{
	struct fslmc *mc = ctx->mc;

	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++) {
		struct fslmc_session *session = &mc->sessions[s];

		if (session->used && session != ctx->session &&
		    fslmc_portal_container(mc, session->portal) == container) {
			mc->objs[session->obj].sessions--;
			session->used = false;
		}
	}
	for (int i = 1; i < FSLMC_MAX_OBJECTS && depth <= FSLMC_MAX_OBJECTS; i++) {
		if (!mc->objs[i].used || mc->objs[i].parent != container)
			continue;
		if (mc->objs[i].kind != FSLMC_DPRC)
			reset_object(&mc->objs[i]);
		else if (recursive)
			reset_container(ctx, i, true, depth + 1);
	}
}

static uint8_t dprc_reset_cont(struct ctx *ctx)
{
	uint32_t options = ctx->version >= 2 ? (uint32_t)mc_get(ctx->in, 4, 4) : 0;
	int target = fslmc_find_container(ctx->mc, (uint32_t)mc_get(ctx->in, 0, 4));

	if (ctx->version == 2 && !api_at_least(ctx->mc, 6, 5))
		return MC_UNSUPPORTED_OP;
	if (target < 0 || options & ~(uint32_t)DPRC_RESET_OPTION_NON_RECURSIVE)
		return MC_CONFIG_ERR;
	if (!is_descendant(ctx->mc, target, ctx->obj))
		return MC_NO_PRIVILEGE;
	reset_container(ctx, target, !(options & DPRC_RESET_OPTION_NON_RECURSIVE), 0);
	return MC_OK;
}

/* The index-th object directly in the container, or -1. */
static int nth_child(const struct fslmc *mc, int container, uint32_t index)
{
	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++) {
		if (mc->objs[i].used && mc->objs[i].parent == container && index-- == 0)
			return i;
	}
	return -1;
}

static uint8_t dprc_get_obj_count(struct ctx *ctx)
{
	uint32_t count = 0;

	for (int i = 1; i < FSLMC_MAX_OBJECTS; i++)
		count += ctx->mc->objs[i].used && ctx->mc->objs[i].parent == ctx->obj;
	mc_put(ctx->out, 4, 4, count);
	return MC_OK;
}

static uint8_t dprc_get_obj(struct ctx *ctx)
{
	int index = nth_child(ctx->mc, ctx->obj, (uint32_t)mc_get(ctx->in, 0, 4));

	if (index < 0)
		return MC_CONFIG_ERR;
	const struct fslmc_obj *obj = &ctx->mc->objs[index];
	uint32_t state = (obj->plugged ? MC_OBJ_STATE_PLUGGED : 0) |
			 (obj->sessions ? MC_OBJ_STATE_OPEN : 0);

	mc_put(ctx->out, 4, 4, obj->id);
	mc_put(ctx->out, 8, 2, MC_VENDOR_FREESCALE);
	ctx->out[10] = obj->irq_count;
	ctx->out[11] = obj->region_count;
	mc_put(ctx->out, 12, 4, state);
	mc_put(ctx->out, 16, 2, obj->ver_major);
	mc_put(ctx->out, 18, 2, obj->ver_minor);
	mc_put(ctx->out, 20, 2, obj->flags);
	strncpy((char *)ctx->out + 24, fslmc_kind_name(obj->kind), MC_TYPE_LEN - 1);
	memcpy(ctx->out + 40, obj->label, MC_TYPE_LEN);
	return MC_OK;
}

/*
 * v1: offset only (base_addr 0, translate through the DT ranges); v2 (DPRC
 * API >= 6.3) adds base_addr; v3 (>= 6.6) reports the 64 KiB hardware sizes
 * where v1/v2 report 64 bytes for MC portals and 4 KiB for QBMAN portals.
 * Region address = base_addr + base_offset either way.
 */
static uint8_t dprc_get_obj_reg(struct ctx *ctx)
{
	int index = param_child(ctx, 24, 0);
	unsigned region_index = ctx->in[6];

	if ((ctx->version == 2 && !api_at_least(ctx->mc, 6, 3)) ||
	    (ctx->version == 3 && !api_at_least(ctx->mc, 6, 6)))
		return MC_UNSUPPORTED_OP;
	if (index < 0 || region_index >= ctx->mc->objs[index].region_count)
		return MC_CONFIG_ERR;
	const struct fslmc_region *region = &ctx->mc->objs[index].regions[region_index];
	uint64_t gpa = fslmc_region_gpa(ctx->mc, region);
	uint64_t window_base = ctx->mc->config->base +
			       (region->type == MC_REGION_MC_PORTAL ? 0 : FSLMC_PORTAL_AREA);
	uint32_t size = region->size;

	if (ctx->version < 3)
		size = region->type == MC_REGION_MC_PORTAL ? MC_CMD_SIZE
			: (size < 0x1000 ? size : 0x1000);
	mc_put(ctx->out, 8, 8, gpa - window_base);
	mc_put(ctx->out, 16, 4, size);
	ctx->out[20] = region->type;
	mc_put(ctx->out, 24, 4, region->flags);
	mc_put(ctx->out, 32, 8, ctx->version >= 2 ? window_base : 0);
	return MC_OK;
}

static uint8_t dprc_set_obj_irq(struct ctx *ctx)
{
	int index = param_child(ctx, 24, 20);
	struct fslmc_irq *irq = index >= 0 ? param_irq(ctx, index, 4) : NULL;

	return irq ? program_irq(ctx, index, irq) : MC_CONFIG_ERR;
}

/* Unconnected endpoints answer state -1, as dprc_get_connection() documents. */
static uint8_t dprc_get_connection(struct ctx *ctx)
{
	int index = param_child(ctx, 8, 0);

	if (index < 0 || mc_get(ctx->in, 4, 2) != 0)
		return MC_CONFIG_ERR;
	int peer = ctx->mc->objs[index].peer;

	if (peer < 0) {
		mc_put(ctx->out, 48, 4, 0xffffffffu);
		return MC_OK;
	}
	mc_put(ctx->out, 24, 4, ctx->mc->objs[peer].id);
	strncpy((char *)ctx->out + 32, fslmc_kind_name(ctx->mc->objs[peer].kind), MC_TYPE_LEN - 1);
	mc_put(ctx->out, 48, 4, 1); /* link up */
	return MC_OK;
}

static uint8_t test_add_obj(struct ctx *ctx)
{
	char label[MC_TYPE_LEN];
	struct fslmc_new_obj desc = {
		.kind = param_kind(ctx, 24), .id = (uint32_t)mc_get(ctx->in, 0, 4),
		.irq_count = ctx->in[4], .region_count = ctx->in[5], .label = label,
	};

	memcpy(label, ctx->in + 40, sizeof(label));
	label[MC_TYPE_LEN - 1] = '\0';
	return fslmc_obj_add(ctx->mc, ctx->obj, &desc);
}

static uint8_t test_remove_obj(struct ctx *ctx)
{
	int index = param_child(ctx, 24, 0);

	return index < 0 ? MC_CONFIG_ERR : fslmc_obj_remove(ctx->mc, index);
}

static uint8_t test_assert_irq(struct ctx *ctx)
{
	unsigned kind = param_kind(ctx, 24);
	uint32_t id = (uint32_t)mc_get(ctx->in, 0, 4);
	int index = kind == FSLMC_DPRC && id == ctx_obj(ctx)->id ? ctx->obj : param_child(ctx, 24, 0);

	return fslmc_irq_assert(ctx->mc, index, ctx->in[4], (uint32_t)mc_get(ctx->in, 8, 4));
}

static const struct handler dprc_handlers[] = {
	{ MC_CMD_GET_ATTR, 1, dprc_get_attr },
	{ MC_CMD_RESET, 2, dprc_reset_cont },
	{ MC_CMD_DPRC_GET_OBJ_COUNT, 1, dprc_get_obj_count },
	{ MC_CMD_DPRC_GET_OBJ, 1, dprc_get_obj },
	{ MC_CMD_DPRC_GET_OBJ_REG, 3, dprc_get_obj_reg },
	{ MC_CMD_DPRC_SET_OBJ_IRQ, 1, dprc_set_obj_irq },
	{ MC_CMD_DPRC_GET_CONNECTION, 1, dprc_get_connection },
	{ 0, 0, NULL },
};

static const struct handler test_hook_handlers[] = {
	{ MC_CMD_TEST_ADD_OBJ, 1, test_add_obj },
	{ MC_CMD_TEST_REMOVE_OBJ, 1, test_remove_obj },
	{ MC_CMD_TEST_ASSERT_IRQ, 1, test_assert_irq },
	{ 0, 0, NULL },
};

/* ---- DPBP ---- */

static uint8_t dpbp_enable(struct ctx *ctx)
{
	ctx_obj(ctx)->enabled = true;
	return MC_OK;
}

static uint8_t dpbp_disable(struct ctx *ctx)
{
	ctx_obj(ctx)->enabled = false;
	return MC_OK;
}

static uint8_t dpbp_is_enabled(struct ctx *ctx)
{
	ctx->out[0] = ctx_obj(ctx)->enabled;
	return MC_OK;
}

/* bpid is the object id. */
static uint8_t dpbp_get_attr(struct ctx *ctx)
{
	const struct fslmc_obj *obj = ctx_obj(ctx);

	mc_put(ctx->out, 2, 2, obj->id);
	mc_put(ctx->out, 4, 4, obj->id);
	mc_put(ctx->out, 8, 2, obj->ver_major);
	mc_put(ctx->out, 10, 2, obj->ver_minor);
	return MC_OK;
}

static const struct handler dpbp_handlers[] = {
	{ MC_CMD_ENABLE, 1, dpbp_enable },
	{ MC_CMD_DISABLE, 1, dpbp_disable },
	{ MC_CMD_GET_ATTR, 1, dpbp_get_attr },
	{ MC_CMD_IS_ENABLED, 1, dpbp_is_enabled },
	{ 0, 0, NULL },
};

/* ---- dispatch ---- */

static const struct handler *table_find(const struct handler *table, unsigned number)
{
	for (; table && table->fn; table++) {
		if (table->number == number)
			return table;
	}
	return NULL;
}

/* Type-specific handlers first (DPRC 0x005 is RESET_CONT), then the generic ones. */
static const struct handler *handler_for(const struct fslmc *mc, unsigned kind, unsigned number)
{
	const struct handler *h = NULL;

	if (kind == FSLMC_DPRC) {
		h = table_find(dprc_handlers, number);
		if (!h && mc->config->test_hook)
			h = table_find(test_hook_handlers, number);
	} else if (kind == FSLMC_DPBP) {
		h = table_find(dpbp_handlers, number);
	}
	return h ? h : table_find(generic_handlers, number);
}

static bool is_known(const struct fslmc *mc, unsigned number)
{
	return is_tokenless(number) || handler_for(mc, FSLMC_DPRC, number) ||
	       handler_for(mc, FSLMC_DPBP, number);
}

static uint8_t dispatch(struct ctx *ctx)
{
	unsigned number = mc_cmd_number(mc_hdr_cmd_id(ctx->header));

	if (!is_known(ctx->mc, number))
		return MC_UNSUPPORTED_OP;
	if (is_tokenless(number))
		return run_tokenless(ctx, number);
	ctx->session = session_find(ctx->mc, mc_hdr_token(ctx->header), ctx->portal);
	if (!ctx->session)
		return MC_AUTH_ERR;
	ctx->obj = ctx->session->obj;
	const struct handler *h = handler_for(ctx->mc, ctx_obj(ctx)->kind, number);

	if (!h || ctx->version == 0 || ctx->version > h->max_version)
		return MC_UNSUPPORTED_OP;
	return h->fn(ctx);
}

/* A completed command on a DPMCP portal raises CMD_DONE unless INTR_DIS. */
static void completion_irq(struct fslmc *mc, unsigned portal, uint64_t header)
{
	int owner = mc->portal_owner[portal];

	if (owner >= 0 && mc->objs[owner].kind == FSLMC_DPMCP && mc->objs[owner].irq_count &&
	    !(mc_hdr_flags_sw(header) & MC_FLAG_SW_INTR_DIS))
		fslmc_irq_assert(mc, owner, 0, DPMCP_IRQ_EVENT_CMD_DONE);
}

uint8_t fslmc_execute(struct fslmc *mc, unsigned portal, struct fslmc_cmd *cmd)
{
	uint8_t out[MC_PARAMS_SIZE] = { 0 };
	struct ctx ctx = {
		.mc = mc, .portal = portal, .container = fslmc_portal_container(mc, portal),
		.version = mc_cmd_version(mc_hdr_cmd_id(cmd->header)), .header = cmd->header,
		.in = cmd->params, .out = out, .obj = -1, .token = mc_hdr_token(cmd->header),
	};
	uint8_t status = ctx.container < 0 ? MC_INVALID_STATE : dispatch(&ctx);

	mc->commands++;
	if (status == MC_OK) {
		memcpy(cmd->params, out, sizeof(out));
		cmd->header = mc_hdr_set_token(cmd->header, ctx.token);
	} else {
		mc->errors++;
	}
	cmd->header = mc_hdr_set_status(cmd->header, status);
	if (ctx.container >= 0)
		completion_irq(mc, portal, cmd->header);
	return status;
}
