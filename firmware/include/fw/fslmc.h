/* SPDX-License-Identifier: MIT */
/*
 * MC client for the fsl-mc Management Complex (NXP DPAA2): command
 * encoding, portal submission and polling, and the DPRC/DPMCP/DPBP calls
 * Linux's fsl-mc bus makes (drivers/bus/fsl-mc). Runs at CPL 3.
 *
 *     struct fw_mc mc;
 *     struct fw_mc_portal root;
 *     uint32_t id;
 *
 *     fw_mc_find(&mc);                      // the fsl,qoriq-mc DT node
 *     fw_mc_portal_init(&root, mc.portal_gpa);
 *     fw_dprc_get_container_id(&root, &id); // returns an MC status
 *
 * Every call returns the MC status (FW_MC_OK = 0, or FW_MC_AUTH_ERR ...)
 * or FW_MC_NO_ANSWER when the status stayed READY past the timeout.
 */
#ifndef FW_FSLMC_H
#define FW_FSLMC_H

#include <stdbool.h>
#include <stdint.h>

/* MC status codes (header byte 2). */
#define FW_MC_OK              0x0
#define FW_MC_READY           0x1
#define FW_MC_AUTH_ERR        0x3
#define FW_MC_NO_PRIVILEGE    0x4
#define FW_MC_DMA_ERR         0x5
#define FW_MC_CONFIG_ERR      0x6
#define FW_MC_TIMEOUT         0x7
#define FW_MC_NO_RESOURCE     0x8
#define FW_MC_NO_MEMORY       0x9
#define FW_MC_BUSY            0xa
#define FW_MC_UNSUPPORTED_OP  0xb
#define FW_MC_INVALID_STATE   0xc
#define FW_MC_NO_ANSWER       0x100 /* client side: still READY at the timeout */

#define FW_MC_FLAG_PRI      0x80 /* flags_hw */
#define FW_MC_FLAG_INTR_DIS 0x01 /* flags_sw */

/* cmd_id = (number << 4) | version */
#define FW_MC_CMD(number, version) ((uint16_t)(((number) << 4) | (version)))
#define FW_MC_CMD_CLOSE             FW_MC_CMD(0x800, 1)
#define FW_MC_CMD_RESET             FW_MC_CMD(0x005, 1)
#define FW_MC_CMD_ENABLE            FW_MC_CMD(0x002, 1)
#define FW_MC_CMD_DISABLE           FW_MC_CMD(0x003, 1)
#define FW_MC_CMD_GET_ATTR          FW_MC_CMD(0x004, 1)
#define FW_MC_CMD_IS_ENABLED        FW_MC_CMD(0x006, 1)
#define FW_MC_CMD_SET_IRQ           FW_MC_CMD(0x010, 1)
#define FW_MC_CMD_GET_IRQ           FW_MC_CMD(0x011, 1)
#define FW_MC_CMD_SET_IRQ_ENABLE    FW_MC_CMD(0x012, 1)
#define FW_MC_CMD_GET_IRQ_ENABLE    FW_MC_CMD(0x013, 1)
#define FW_MC_CMD_SET_IRQ_MASK      FW_MC_CMD(0x014, 1)
#define FW_MC_CMD_GET_IRQ_MASK      FW_MC_CMD(0x015, 1)
#define FW_MC_CMD_GET_IRQ_STATUS    FW_MC_CMD(0x016, 1)
#define FW_MC_CMD_CLEAR_IRQ_STATUS  FW_MC_CMD(0x017, 1)
#define FW_MC_CMD_DPMNG_GET_VERSION FW_MC_CMD(0x831, 1)
#define FW_MC_CMD_DPRC_GET_CONT_ID  FW_MC_CMD(0x830, 1)
#define FW_MC_CMD_DPRC_OPEN         FW_MC_CMD(0x805, 1)
#define FW_MC_CMD_DPRC_GET_API_VERSION FW_MC_CMD(0xa05, 1)
#define FW_MC_CMD_DPRC_RESET_CONT   FW_MC_CMD(0x005, 1)
#define FW_MC_CMD_DPRC_RESET_CONT_V2 FW_MC_CMD(0x005, 2)
#define FW_MC_CMD_DPRC_GET_OBJ_COUNT FW_MC_CMD(0x159, 1)
#define FW_MC_CMD_DPRC_GET_OBJ      FW_MC_CMD(0x15a, 1)
#define FW_MC_CMD_DPRC_GET_OBJ_REG(v) FW_MC_CMD(0x15e, (v))
#define FW_MC_CMD_DPRC_SET_OBJ_IRQ  FW_MC_CMD(0x15f, 1)
#define FW_MC_CMD_DPRC_GET_CONNECTION FW_MC_CMD(0x16c, 1)
#define FW_MC_CMD_DPMCP_OPEN        FW_MC_CMD(0x80b, 1)
/* This VMM's test hook (docs/devices/fsl-mc.md), on a DPRC token. */
#define FW_MC_CMD_TEST_ADD_OBJ      FW_MC_CMD(0xe01, 1)
#define FW_MC_CMD_TEST_REMOVE_OBJ   FW_MC_CMD(0xe02, 1)
#define FW_MC_CMD_TEST_ASSERT_IRQ   FW_MC_CMD(0xe03, 1)

#define FW_DPRC_IRQ_EVENT_OBJ_ADDED   0x01
#define FW_DPRC_IRQ_EVENT_OBJ_REMOVED 0x02
#define FW_DPMCP_IRQ_EVENT_CMD_DONE   0x01
#define FW_MC_OBJ_STATE_OPEN    0x1
#define FW_MC_OBJ_STATE_PLUGGED 0x2

struct fw_mc_cmd {
	uint64_t header;
	uint64_t params[7];
};

struct fw_mc_portal {
	volatile uint64_t *regs;  /* the 64-byte command area */
	uint64_t timeout_tsc;     /* give up after this many TSC ticks (default ~2 s) */
	bool split_header;        /* header as two 32-bit writes, high dword first */
	uint64_t last_tsc;        /* last command: header write -> status != READY */
};

/* What the fsl,qoriq-mc node says. */
struct fw_mc {
	int node;
	uint64_t portal_gpa, portal_size;  /* reg[0]: the root DPRC's portal */
	uint64_t mc_portals, mc_portals_size;  /* ranges, region type 0 */
	uint64_t qbman, qbman_size;            /* ranges, region type 1 */
	unsigned range_count;
	const char *mode;                      /* vmm,portal-mode, or NULL */
};

struct fw_mc_obj_desc {
	char type[16];
	uint32_t id;
	uint16_t vendor;
	uint8_t irq_count, region_count;
	uint32_t state;
	uint16_t ver_major, ver_minor, flags;
	char label[16];
};

struct fw_mc_region {
	uint64_t base_offset, base_address;
	uint32_t size, flags;
	uint8_t type;
};

struct fw_dprc_attr {
	uint32_t container_id, options, portal_id;
	uint16_t icid;
};

/* Find the node and parse reg[0] and ranges; 0 or -FDT_ERR_*. */
int fw_mc_find(struct fw_mc *mc);
void fw_mc_portal_init(struct fw_mc_portal *portal, uint64_t gpa);
/* Translate a region: base_address + base_offset, else through ranges. */
uint64_t fw_mc_region_gpa(const struct fw_mc *mc, const struct fw_mc_region *region);

/* ---- encoding ---- */
static inline uint64_t fw_mc_header(uint16_t cmd_id, uint16_t token, uint8_t flags_hw,
				    uint8_t flags_sw)
{
	return ((uint64_t)cmd_id << 48) | ((uint64_t)token << 32) | ((uint64_t)flags_sw << 24) |
	       ((uint64_t)FW_MC_READY << 16) | ((uint64_t)flags_hw << 8);
}
static inline uint8_t fw_mc_hdr_status(uint64_t h) { return (uint8_t)(h >> 16); }
static inline uint16_t fw_mc_hdr_token(uint64_t h) { return (uint16_t)(h >> 32); }
static inline uint16_t fw_mc_hdr_cmd_id(uint64_t h) { return (uint16_t)(h >> 48); }

void fw_mc_cmd_init(struct fw_mc_cmd *cmd, uint16_t cmd_id, uint16_t token);
/* Little-endian fields at byte offsets of the 56-byte parameter area. */
void fw_mc_put(struct fw_mc_cmd *cmd, unsigned off, unsigned len, uint64_t value);
uint64_t fw_mc_get(const struct fw_mc_cmd *cmd, unsigned off, unsigned len);
void fw_mc_put_str(struct fw_mc_cmd *cmd, unsigned off, const char *s); /* 16 bytes, NUL-padded */
void fw_mc_get_str(const struct fw_mc_cmd *cmd, unsigned off, char out[16]);
const char *fw_mc_status_name(int status);
/* OPEN cmd_id of a type ("dpni" -> 0x8011), or 0. */
uint16_t fw_mc_open_cmd(const char *type);

/* Params in ascending order, header last; poll for status != READY.
 * Returns the status; on FW_MC_OK *cmd holds the response. */
int fw_mc_send(struct fw_mc_portal *portal, struct fw_mc_cmd *cmd);

/* ---- calls ---- */
int fw_mc_get_version(struct fw_mc_portal *p, uint32_t *major, uint32_t *minor, uint32_t *rev);
int fw_dprc_get_container_id(struct fw_mc_portal *p, uint32_t *id);
int fw_dprc_get_api_version(struct fw_mc_portal *p, uint16_t *major, uint16_t *minor);
int fw_mc_open(struct fw_mc_portal *p, const char *type, uint32_t id, uint16_t *token);
int fw_dprc_open(struct fw_mc_portal *p, uint32_t id, uint16_t *token);
int fw_dpmcp_open(struct fw_mc_portal *p, uint32_t id, uint16_t *token);
int fw_mc_close(struct fw_mc_portal *p, uint16_t token);
int fw_mc_reset(struct fw_mc_portal *p, uint16_t token);
int fw_dprc_get_attributes(struct fw_mc_portal *p, uint16_t token, struct fw_dprc_attr *attr);
int fw_dprc_get_obj_count(struct fw_mc_portal *p, uint16_t token, uint32_t *count);
int fw_dprc_get_obj(struct fw_mc_portal *p, uint16_t token, uint32_t index,
		    struct fw_mc_obj_desc *desc);
/* version 1, 2 or 3 (Linux: 3 from DPRC API 6.6, 2 from 6.3). */
int fw_dprc_get_obj_region(struct fw_mc_portal *p, uint16_t token, unsigned version,
			   const char *type, uint32_t id, uint8_t index, struct fw_mc_region *region);
int fw_dprc_reset_container(struct fw_mc_portal *p, uint16_t token, uint32_t child,
			    int options /* -1: v1 command */);
/* IRQ calls work on any object token (DPRC IRQ 0: container events). */
int fw_mc_set_irq(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint64_t addr,
		  uint32_t data, uint32_t num);
int fw_dprc_set_obj_irq(struct fw_mc_portal *p, uint16_t token, const char *type, uint32_t id,
			uint8_t index, uint64_t addr, uint32_t data, uint32_t num);
int fw_mc_set_irq_enable(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint8_t en);
int fw_mc_set_irq_mask(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint32_t mask);
int fw_mc_get_irq_status(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint32_t *st);
int fw_mc_clear_irq_status(struct fw_mc_portal *p, uint16_t token, uint8_t index, uint32_t st);
int fw_dprc_get_connection(struct fw_mc_portal *p, uint16_t token, const char *type,
			   uint32_t id, char peer_type[16], uint32_t *peer_id, int32_t *state);

#endif
