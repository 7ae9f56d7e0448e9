/* SPDX-License-Identifier: MIT */
/*
 * The MC command portal protocol as Linux's drivers/bus/fsl-mc speaks it
 * (shared/reference/device-facts.md section 4): one 64-byte command, a
 * 64-bit header and seven 64-bit parameter words, little-endian.
 *
 *   header byte 0    src_id
 *   header byte 1    flags_hw (0x80 PRI)
 *   header byte 2    status (0x01 READY while the command is pending)
 *   header byte 3    flags_sw (0x01 INTR_DIS: no completion interrupt)
 *   header bytes 4-5 token
 *   header bytes 6-7 cmd_id = (command number << 4) | command version
 *
 * Parameter offsets below are byte offsets into the 56-byte parameter area
 * (portal offset 8).
 */
#ifndef DEVICES_FSLMC_PROTOCOL_H
#define DEVICES_FSLMC_PROTOCOL_H

#include <stdint.h>
#include <string.h>

#define MC_CMD_SIZE        64
#define MC_PARAMS_SIZE     56
#define MC_HDR_STATUS_BYTE 2

/* Status codes (mc-sys.c). */
enum mc_status {
	MC_OK = 0x0,
	MC_READY = 0x1,
	MC_AUTH_ERR = 0x3,
	MC_NO_PRIVILEGE = 0x4,
	MC_DMA_ERR = 0x5,
	MC_CONFIG_ERR = 0x6,
	MC_TIMEOUT = 0x7,
	MC_NO_RESOURCE = 0x8,
	MC_NO_MEMORY = 0x9,
	MC_BUSY = 0xa,
	MC_UNSUPPORTED_OP = 0xb,
	MC_INVALID_STATE = 0xc,
};

#define MC_FLAG_HW_PRI      0x80
#define MC_FLAG_SW_INTR_DIS 0x01

/* Header field access. */
static inline uint8_t mc_hdr_status(uint64_t h) { return (uint8_t)(h >> 16); }
static inline uint8_t mc_hdr_flags_sw(uint64_t h) { return (uint8_t)(h >> 24); }
static inline uint16_t mc_hdr_token(uint64_t h) { return (uint16_t)(h >> 32); }
static inline uint16_t mc_hdr_cmd_id(uint64_t h) { return (uint16_t)(h >> 48); }
static inline unsigned mc_cmd_number(uint16_t cmd_id) { return cmd_id >> 4; }
static inline unsigned mc_cmd_version(uint16_t cmd_id) { return cmd_id & 0xf; }

static inline uint64_t mc_hdr_set_status(uint64_t h, uint8_t status)
{
	return (h & ~(0xffull << 16)) | ((uint64_t)status << 16);
}

static inline uint64_t mc_hdr_set_token(uint64_t h, uint16_t token)
{
	return (h & ~(0xffffull << 32)) | ((uint64_t)token << 32);
}

static inline uint64_t mc_hdr_encode(uint16_t cmd_id, uint16_t token, uint8_t flags_hw,
				     uint8_t flags_sw, uint8_t status)
{
	return ((uint64_t)cmd_id << 48) | ((uint64_t)token << 32) | ((uint64_t)flags_sw << 24) |
	       ((uint64_t)status << 16) | ((uint64_t)flags_hw << 8);
}

#define MC_CMD_ID(number, version) ((uint16_t)(((number) << 4) | (version)))

/* Command numbers. Object-agnostic ones apply to every object token. */
#define MC_CMD_CLOSE            0x800
#define MC_CMD_OPEN_BASE        0x800 /* + object type code: OPEN for that type */
#define MC_CMD_API_VERSION_BASE 0xa00 /* + object type code: GET_API_VERSION */
#define MC_CMD_ENABLE           0x002
#define MC_CMD_DISABLE          0x003
#define MC_CMD_GET_ATTR         0x004
#define MC_CMD_RESET            0x005 /* DPRC: RESET_CONT (v1, v2) */
#define MC_CMD_IS_ENABLED       0x006
#define MC_CMD_SET_IRQ          0x010
#define MC_CMD_GET_IRQ          0x011
#define MC_CMD_SET_IRQ_ENABLE   0x012
#define MC_CMD_GET_IRQ_ENABLE   0x013
#define MC_CMD_SET_IRQ_MASK     0x014
#define MC_CMD_GET_IRQ_MASK     0x015
#define MC_CMD_GET_IRQ_STATUS   0x016
#define MC_CMD_CLEAR_IRQ_STATUS 0x017
#define MC_CMD_DPRC_GET_CONT_ID 0x830
#define MC_CMD_DPMNG_GET_VERSION 0x831
#define MC_CMD_DPRC_GET_OBJ_COUNT 0x159
#define MC_CMD_DPRC_GET_OBJ     0x15a
#define MC_CMD_DPRC_GET_OBJ_REG 0x15e /* v1; v2 from DPRC API 6.3; v3 from 6.6 */
#define MC_CMD_DPRC_SET_OBJ_IRQ 0x15f
#define MC_CMD_DPRC_GET_CONNECTION 0x16c

/*
 * Vendor test hook (this VMM only; needs `test_hook = true`), sent with a
 * DPRC token; the container is the token's. docs/devices/fsl-mc.md.
 */
#define MC_CMD_TEST_ADD_OBJ     0xe01 /* id @0, irq_count u8 @4, region_count u8 @5, type @24, label @40 */
#define MC_CMD_TEST_REMOVE_OBJ  0xe02 /* id @0, type @24 */
#define MC_CMD_TEST_ASSERT_IRQ  0xe03 /* id @0, irq_index u8 @4, bits u32 @8, type @24 */

/* DPRC IRQ 0 event bits. */
#define DPRC_IRQ_EVENT_OBJ_ADDED     0x01
#define DPRC_IRQ_EVENT_OBJ_REMOVED   0x02
/* DPMCP IRQ 0: command completed (when the command lacks INTR_DIS). */
#define DPMCP_IRQ_EVENT_CMD_DONE     0x01

#define DPRC_RESET_OPTION_NON_RECURSIVE 0x1

/* Object descriptor fields (fsl_mc_obj_desc). */
#define MC_VENDOR_FREESCALE     0x1957
#define MC_OBJ_STATE_OPEN       0x1
#define MC_OBJ_STATE_PLUGGED    0x2

/* Region types (dprc_region_desc). */
#define MC_REGION_MC_PORTAL     0
#define MC_REGION_QBMAN_PORTAL  1

#define MC_TYPE_LEN 16 /* object type and label: char[16], NUL-terminated */

/* Little-endian parameter accessors over the 56-byte area; off is checked by callers. */
static inline uint64_t mc_get(const uint8_t *p, unsigned off, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)p[off + i] << (8 * i);
	return v;
}

static inline void mc_put(uint8_t *p, unsigned off, unsigned len, uint64_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

#endif
