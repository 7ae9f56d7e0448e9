// SPDX-License-Identifier: MIT
/* MC client (fw/fslmc.h): encode, submit, poll, and the DPRC/DPMCP calls. */
#include <string.h>

#include "fw/cpu.h"
#include "fw/fdt.h"
#include "fw/fslmc.h"

#define FW_MC_DEFAULT_TIMEOUT_TSC 5000000000ull /* ~2 s at 2.3-2.6 GHz */

static uint64_t cells(const fdt32_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

/* ranges: <type offset-hi offset-lo> <parent address> <size>, 3 + parent cells + 1. */
static void parse_ranges(struct fw_mc *mc, const void *fdt, int parent_cells)
{
	int len, entry = 3 + parent_cells + 1;
	const fdt32_t *p = fdt_getprop(fdt, mc->node, "ranges", &len);

	mc->range_count = 0;
	for (int i = 0; p && (i + 1) * entry * 4 <= len; i++, p += entry) {
		uint32_t type = fdt32_to_cpu(p[0]);
		uint64_t base = cells(p + 3, parent_cells), size = cells(p + 3 + parent_cells, 1);

		if (type == 0) {
			mc->mc_portals = base - cells(p + 1, 2);
			mc->mc_portals_size = size;
		} else if (type == 1) {
			mc->qbman = base - cells(p + 1, 2);
			mc->qbman_size = size;
		}
		mc->range_count++;
	}
}

int fw_mc_find(struct fw_mc *mc)
{
	const void *fdt = fw_fdt();
	struct fw_fdt_reg reg;
	int err;

	memset(mc, 0, sizeof(*mc));
	mc->node = fw_fdt_find_compatible(-1, "fsl,qoriq-mc");
	if (mc->node < 0)
		return mc->node;
	if ((err = fw_fdt_read_reg(mc->node, 0, &reg)))
		return err;
	mc->portal_gpa = reg.addr;
	mc->portal_size = reg.size;
	parse_ranges(mc, fdt, (int)reg.addr_cells);
	mc->mode = fdt_getprop(fdt, mc->node, "vmm,portal-mode", NULL);
	return 0;
}

void fw_mc_portal_init(struct fw_mc_portal *portal, uint64_t gpa)
{
	memset(portal, 0, sizeof(*portal));
	portal->regs = (volatile uint64_t *)(uintptr_t)gpa;
	portal->timeout_tsc = FW_MC_DEFAULT_TIMEOUT_TSC;
}

uint64_t fw_mc_region_gpa(const struct fw_mc *mc, const struct fw_mc_region *region)
{
	if (region->base_address)
		return region->base_address + region->base_offset;
	return (region->type == 0 ? mc->mc_portals : mc->qbman) + region->base_offset;
}

void fw_mc_cmd_init(struct fw_mc_cmd *cmd, uint16_t cmd_id, uint16_t token)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->header = fw_mc_header(cmd_id, token, 0, 0);
}

void fw_mc_put(struct fw_mc_cmd *cmd, unsigned off, unsigned len, uint64_t value)
{
	uint8_t *p = (uint8_t *)cmd->params;

	for (unsigned i = 0; i < len && off + i < sizeof(cmd->params); i++)
		p[off + i] = (uint8_t)(value >> (8 * i));
}

uint64_t fw_mc_get(const struct fw_mc_cmd *cmd, unsigned off, unsigned len)
{
	const uint8_t *p = (const uint8_t *)cmd->params;
	uint64_t value = 0;

	for (unsigned i = 0; i < len && off + i < sizeof(cmd->params); i++)
		value |= (uint64_t)p[off + i] << (8 * i);
	return value;
}

void fw_mc_put_str(struct fw_mc_cmd *cmd, unsigned off, const char *s)
{
	uint8_t *p = (uint8_t *)cmd->params + off;
	size_t n = strnlen(s, 15);

	memset(p, 0, 16);
	memcpy(p, s, n);
}

void fw_mc_get_str(const struct fw_mc_cmd *cmd, unsigned off, char out[16])
{
	memcpy(out, (const uint8_t *)cmd->params + off, 16);
	out[15] = '\0';
}

const char *fw_mc_status_name(int status)
{
	static const char *const names[] = {
		"OK", "READY", "0x2", "AUTH_ERR", "NO_PRIVILEGE", "DMA_ERR", "CONFIG_ERR",
		"TIMEOUT", "NO_RESOURCE", "NO_MEMORY", "BUSY", "UNSUPPORTED_OP", "INVALID_STATE",
	};

	if (status == FW_MC_NO_ANSWER)
		return "no answer";
	return status >= 0 && status < (int)(sizeof(names) / sizeof(names[0])) ? names[status]
										 : "?";
}

uint16_t fw_mc_open_cmd(const char *type)
{
	static const char *const types[] = {
		"", "dpni", "dpsw", "dpio", "dpbp", "dprc", "dpdmux", "dpci", "dpcon", "dpseci",
		"dpaiop", "dpmcp", "dpmac", "dpdcei", "dpdmai", "dpdbg", "dprtc",
	};

	for (unsigned k = 1; k < sizeof(types) / sizeof(types[0]); k++) {
		if (!strcmp(type, types[k]))
			return FW_MC_CMD(0x800 + k, 1);
	}
	return 0;
}

static void write_header(struct fw_mc_portal *portal, uint64_t header)
{
	volatile uint32_t *half = (volatile uint32_t *)portal->regs;

	if (!portal->split_header) {
		portal->regs[0] = header;
		return;
	}
	/* io-64-nonatomic-hi-lo: high dword first, the low one (status) rings. */
	half[1] = (uint32_t)(header >> 32);
	half[0] = (uint32_t)header;
}

int fw_mc_send(struct fw_mc_portal *portal, struct fw_mc_cmd *cmd)
{
	uint64_t header, start, now;

	for (unsigned i = 0; i < 7; i++)
		portal->regs[1 + i] = cmd->params[i];
	__asm__ volatile("" ::: "memory");
	start = rdtsc();
	write_header(portal, cmd->header);
	do {
		header = portal->regs[0];
		now = rdtsc();
		if (fw_mc_hdr_status(header) != FW_MC_READY)
			break;
		cpu_relax();
	} while (now - start < portal->timeout_tsc);
	portal->last_tsc = now - start;
	cmd->header = header;
	if (fw_mc_hdr_status(header) == FW_MC_READY)
		return FW_MC_NO_ANSWER;
	if (fw_mc_hdr_status(header) == FW_MC_OK) {
		for (unsigned i = 0; i < 7; i++)
			cmd->params[i] = portal->regs[1 + i];
	}
	return fw_mc_hdr_status(header);
}

static int send_simple(struct fw_mc_portal *p, struct fw_mc_cmd *cmd, uint16_t cmd_id,
		       uint16_t token)
{
	fw_mc_cmd_init(cmd, cmd_id, token);
	return fw_mc_send(p, cmd);
}

int fw_mc_get_version(struct fw_mc_portal *p, uint32_t *major, uint32_t *minor, uint32_t *rev)
{
	struct fw_mc_cmd cmd;
	int st = send_simple(p, &cmd, FW_MC_CMD_DPMNG_GET_VERSION, 0);

	*rev = (uint32_t)fw_mc_get(&cmd, 0, 4);
	*major = (uint32_t)fw_mc_get(&cmd, 4, 4);
	*minor = (uint32_t)fw_mc_get(&cmd, 8, 4);
	return st;
}

int fw_dprc_get_container_id(struct fw_mc_portal *p, uint32_t *id)
{
	struct fw_mc_cmd cmd;
	int st = send_simple(p, &cmd, FW_MC_CMD_DPRC_GET_CONT_ID, 0);

	*id = (uint32_t)fw_mc_get(&cmd, 0, 4);
	return st;
}

int fw_dprc_get_api_version(struct fw_mc_portal *p, uint16_t *major, uint16_t *minor)
{
	struct fw_mc_cmd cmd;
	int st = send_simple(p, &cmd, FW_MC_CMD_DPRC_GET_API_VERSION, 0);

	*major = (uint16_t)fw_mc_get(&cmd, 0, 2);
	*minor = (uint16_t)fw_mc_get(&cmd, 2, 2);
	return st;
}

static int open_by_cmd(struct fw_mc_portal *p, uint16_t cmd_id, uint32_t id, uint16_t *token)
{
	struct fw_mc_cmd cmd;
	int st;

	fw_mc_cmd_init(&cmd, cmd_id, 0);
	fw_mc_put(&cmd, 0, 4, id);
	st = fw_mc_send(p, &cmd);
	*token = st == FW_MC_OK ? fw_mc_hdr_token(cmd.header) : 0;
	return st;
}

int fw_mc_open(struct fw_mc_portal *p, const char *type, uint32_t id, uint16_t *token)
{
	uint16_t cmd_id = fw_mc_open_cmd(type);

	*token = 0;
	return cmd_id ? open_by_cmd(p, cmd_id, id, token) : FW_MC_UNSUPPORTED_OP;
}

int fw_dprc_open(struct fw_mc_portal *p, uint32_t id, uint16_t *token)
{
	return open_by_cmd(p, FW_MC_CMD_DPRC_OPEN, id, token);
}

int fw_dpmcp_open(struct fw_mc_portal *p, uint32_t id, uint16_t *token)
{
	return open_by_cmd(p, FW_MC_CMD_DPMCP_OPEN, id, token);
}

int fw_mc_close(struct fw_mc_portal *p, uint16_t token)
{
	struct fw_mc_cmd cmd;

	return send_simple(p, &cmd, FW_MC_CMD_CLOSE, token);
}

int fw_mc_reset(struct fw_mc_portal *p, uint16_t token)
{
	struct fw_mc_cmd cmd;

	return send_simple(p, &cmd, FW_MC_CMD_RESET, token);
}

int fw_dprc_get_attributes(struct fw_mc_portal *p, uint16_t token, struct fw_dprc_attr *attr)
{
	struct fw_mc_cmd cmd;
	int st = send_simple(p, &cmd, FW_MC_CMD_GET_ATTR, token);

	attr->container_id = (uint32_t)fw_mc_get(&cmd, 0, 4);
	attr->icid = (uint16_t)fw_mc_get(&cmd, 4, 2);
	attr->options = (uint32_t)fw_mc_get(&cmd, 8, 4);
	attr->portal_id = (uint32_t)fw_mc_get(&cmd, 12, 4);
	return st;
}

int fw_dprc_get_obj_count(struct fw_mc_portal *p, uint16_t token, uint32_t *count)
{
	struct fw_mc_cmd cmd;
	int st = send_simple(p, &cmd, FW_MC_CMD_DPRC_GET_OBJ_COUNT, token);

	*count = (uint32_t)fw_mc_get(&cmd, 4, 4);
	return st;
}

int fw_dprc_get_obj(struct fw_mc_portal *p, uint16_t token, uint32_t index,
		    struct fw_mc_obj_desc *d)
{
	struct fw_mc_cmd cmd;
	int st;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_OBJ, token);
	fw_mc_put(&cmd, 0, 4, index);
	st = fw_mc_send(p, &cmd);
	memset(d, 0, sizeof(*d));
	if (st != FW_MC_OK)
		return st;
	d->id = (uint32_t)fw_mc_get(&cmd, 4, 4);
	d->vendor = (uint16_t)fw_mc_get(&cmd, 8, 2);
	d->irq_count = (uint8_t)fw_mc_get(&cmd, 10, 1);
	d->region_count = (uint8_t)fw_mc_get(&cmd, 11, 1);
	d->state = (uint32_t)fw_mc_get(&cmd, 12, 4);
	d->ver_major = (uint16_t)fw_mc_get(&cmd, 16, 2);
	d->ver_minor = (uint16_t)fw_mc_get(&cmd, 18, 2);
	d->flags = (uint16_t)fw_mc_get(&cmd, 20, 2);
	fw_mc_get_str(&cmd, 24, d->type);
	fw_mc_get_str(&cmd, 40, d->label);
	return st;
}

int fw_dprc_get_obj_region(struct fw_mc_portal *p, uint16_t token, unsigned version,
			   const char *type, uint32_t id, uint8_t index, struct fw_mc_region *r)
{
	struct fw_mc_cmd cmd;
	int st;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_OBJ_REG(version), token);
	fw_mc_put(&cmd, 0, 4, id);
	fw_mc_put(&cmd, 6, 1, index);
	fw_mc_put_str(&cmd, 24, type);
	st = fw_mc_send(p, &cmd);
	memset(r, 0, sizeof(*r));
	if (st != FW_MC_OK)
		return st;
	r->base_offset = fw_mc_get(&cmd, 8, 8);
	r->size = (uint32_t)fw_mc_get(&cmd, 16, 4);
	r->type = (uint8_t)fw_mc_get(&cmd, 20, 1);
	r->flags = (uint32_t)fw_mc_get(&cmd, 24, 4);
	r->base_address = version >= 2 ? fw_mc_get(&cmd, 32, 8) : 0;
	return st;
}

int fw_dprc_reset_container(struct fw_mc_portal *p, uint16_t token, uint32_t child, int options)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, options < 0 ? FW_MC_CMD_DPRC_RESET_CONT : FW_MC_CMD_DPRC_RESET_CONT_V2,
		       token);
	fw_mc_put(&cmd, 0, 4, child);
	if (options >= 0)
		fw_mc_put(&cmd, 4, 4, (uint32_t)options);
	return fw_mc_send(p, &cmd);
}

static void put_irq_cfg(struct fw_mc_cmd *cmd, uint8_t index, uint64_t addr, uint32_t data,
			uint32_t num)
{
	fw_mc_put(cmd, 0, 4, data);
	fw_mc_put(cmd, 4, 1, index);
	fw_mc_put(cmd, 8, 8, addr);
	fw_mc_put(cmd, 16, 4, num);
}

/* Linux sends these from its MSI write-message callback with PRI | INTR_DIS. */
int fw_mc_set_irq(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint64_t addr,
		  uint32_t data, uint32_t num)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_SET_IRQ, token);
	cmd.header = fw_mc_header(FW_MC_CMD_SET_IRQ, token, FW_MC_FLAG_PRI, FW_MC_FLAG_INTR_DIS);
	put_irq_cfg(&cmd, index, addr, data, num);
	return fw_mc_send(p, &cmd);
}

int fw_dprc_set_obj_irq(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id,
			uint8_t index, uint64_t addr, uint32_t data, uint32_t num)
{
	struct fw_mc_cmd cmd;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_SET_OBJ_IRQ, token);
	cmd.header = fw_mc_header(FW_MC_CMD_DPRC_SET_OBJ_IRQ, token, FW_MC_FLAG_PRI,
				  FW_MC_FLAG_INTR_DIS);
	put_irq_cfg(&cmd, index, addr, data, num);
	fw_mc_put(&cmd, 20, 4, id);
	fw_mc_put_str(&cmd, 24, type);
	return fw_mc_send(p, &cmd);
}

static int irq_call(struct fw_mc_portal *p, uint16_t cmd_id, uint16_t token, uint8_t index,
		    uint32_t value, uint32_t *out)
{
	struct fw_mc_cmd cmd;
	int st;

	fw_mc_cmd_init(&cmd, cmd_id, token);
	fw_mc_put(&cmd, 0, 4, value);
	fw_mc_put(&cmd, 4, 1, index);
	st = fw_mc_send(p, &cmd);
	if (out)
		*out = st == FW_MC_OK ? (uint32_t)fw_mc_get(&cmd, 0, 4) : 0;
	return st;
}

int fw_mc_set_irq_enable(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint8_t en)
{
	return irq_call(p, FW_MC_CMD_SET_IRQ_ENABLE, token, index, en, NULL);
}

int fw_mc_set_irq_mask(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint32_t mask)
{
	return irq_call(p, FW_MC_CMD_SET_IRQ_MASK, token, index, mask, NULL);
}

int fw_mc_get_irq_status(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint32_t *st)
{
	return irq_call(p, FW_MC_CMD_GET_IRQ_STATUS, token, index, 0, st);
}

int fw_mc_clear_irq_status(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint32_t st)
{
	return irq_call(p, FW_MC_CMD_CLEAR_IRQ_STATUS, token, index, st, NULL);
}

int fw_dprc_get_connection(struct fw_mc_portal *p, uint16_t token, const char *type,
			   uint32_t id, char peer_type[16], uint32_t *peer_id, int32_t *state)
{
	struct fw_mc_cmd cmd;
	int st;

	fw_mc_cmd_init(&cmd, FW_MC_CMD_DPRC_GET_CONNECTION, token);
	fw_mc_put(&cmd, 0, 4, id);
	fw_mc_put_str(&cmd, 8, type);
	st = fw_mc_send(p, &cmd);
	*peer_id = (uint32_t)fw_mc_get(&cmd, 24, 4);
	fw_mc_get_str(&cmd, 32, peer_type);
	*state = (int32_t)(uint32_t)fw_mc_get(&cmd, 48, 4);
	return st;
}
