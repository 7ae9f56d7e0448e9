/* SPDX-License-Identifier: MIT */
/*
 * Intel DSA (idxd) architectural definitions shared by the emulated device
 * (devices/dsa/) and the firmware driver (firmware/dsa.c): register offsets
 * and fields, commands, descriptor and completion record layouts, opcodes,
 * flags and status codes. Values from Linux drivers/dma/idxd/registers.h and
 * include/uapi/linux/idxd.h (restated in shared reference/device-facts.md
 * section 3). C only (structs); no host or firmware headers needed.
 */
#ifndef DSA_REGS_H
#define DSA_REGS_H

#include <stdint.h>

#define DSA_VENDOR_ID  0x8086
#define DSA_DEVICE_ID  0x0b25          /* DSA on Sapphire Rapids */
#define DSA_CLASS_CODE 0x088000        /* system peripheral, other */

#define DSA_MMIO_BAR   0
#define DSA_WQ_BAR     2
#define DSA_PAGE_SIZE  0x1000u
#define DSA_WQ_PORTAL_STRIDE (4 * DSA_PAGE_SIZE) /* four portal pages per WQ */
#define DSA_PORTAL_SLOT 64u            /* one descriptor per 64-byte slot */

/* BAR0 registers. */
#define DSA_REG_VERSION      0x00
#define DSA_REG_GENCAP       0x10
#define DSA_REG_WQCAP        0x20
#define DSA_REG_GRPCAP       0x30
#define DSA_REG_ENGCAP       0x38
#define DSA_REG_OPCAP        0x40   /* 4 x 64 bits */
#define DSA_REG_TABLE_OFFSET 0x60   /* 2 x 64 bits */
#define DSA_REG_GENCFG       0x80
#define DSA_REG_GENCTRL      0x88
#define DSA_REG_GENSTS       0x90
#define DSA_REG_INTCAUSE     0x98
#define DSA_REG_CMD          0xa0
#define DSA_REG_CMDSTS       0xa8
#define DSA_REG_CMDCAP       0xb0
#define DSA_REG_SWERR        0xc0   /* 4 x 64 bits */

/* GENCAP fields. */
#define DSA_GENCAP_BLOCK_ON_FAULT  (1ull << 0)
#define DSA_GENCAP_OVERLAP_COPY    (1ull << 1)
#define DSA_GENCAP_CACHE_CTRL_MEM  (1ull << 2)
#define DSA_GENCAP_CMD_CAP_BIT     4
#define DSA_GENCAP_CMD_CAP         (1ull << 4)
#define DSA_GENCAP_MAX_XFER_SHIFT  16   /* bits 16-20 */
#define DSA_GENCAP_MAX_BATCH_SHIFT 21   /* bits 21-24 */
#define DSA_GENCAP_CONFIG_EN       (1ull << 31)

/* WQCAP fields. */
#define DSA_WQCAP_TOTAL_SIZE_MASK  0xffffull
#define DSA_WQCAP_NUM_WQS_SHIFT    16
#define DSA_WQCAP_WQCFG_SIZE_SHIFT 24   /* stride = 1 << (n + 5) */
#define DSA_WQCAP_SHARED_MODE      (1ull << 48)
#define DSA_WQCAP_DEDICATED_MODE   (1ull << 49)
#define DSA_WQCAP_PRIORITY         (1ull << 51)
#define DSA_WQCAP_OP_CONFIG        (1ull << 54)

/* GENSTS.state */
#define DSA_STATE_DISABLED 0
#define DSA_STATE_ENABLED  1
#define DSA_STATE_DRAIN    2
#define DSA_STATE_HALT     3

/* INTCAUSE bits (RW1C). */
#define DSA_INTCAUSE_ERR 0x1
#define DSA_INTCAUSE_CMD 0x2

/* GENCTRL */
#define DSA_GENCTRL_SOFTERR_INT_EN 0x1
#define DSA_GENCTRL_HALT_INT_EN    0x2

/* CMD register. */
#define DSA_CMD_SHIFT        20
#define DSA_CMD_MASK         0x1f
#define DSA_CMD_OPERAND_MASK 0xfffff
#define DSA_CMD_INT_REQ      (1u << 31)
#define DSA_CMD(cmd, operand) (((uint32_t)(cmd) << DSA_CMD_SHIFT) | ((operand) & DSA_CMD_OPERAND_MASK))

enum dsa_command {
	DSA_CMD_ENABLE_DEVICE = 1,
	DSA_CMD_DISABLE_DEVICE = 2,
	DSA_CMD_DRAIN_ALL = 3,
	DSA_CMD_ABORT_ALL = 4,
	DSA_CMD_RESET_DEVICE = 5,
	DSA_CMD_ENABLE_WQ = 6,
	DSA_CMD_DISABLE_WQ = 7,
	DSA_CMD_DRAIN_WQ = 8,
	DSA_CMD_ABORT_WQ = 9,
	DSA_CMD_RESET_WQ = 10,
	DSA_CMD_DRAIN_PASID = 11,
	DSA_CMD_ABORT_PASID = 12,
	DSA_CMD_REQUEST_INT_HANDLE = 13,
	DSA_CMD_RELEASE_INT_HANDLE = 14,
};

/* WQ mask operand of DISABLE/DRAIN/ABORT/RESET_WQ: bit (id % 16), (id / 16) << 16. */
#define DSA_WQ_MASK_OPERAND(id) ((1u << ((id) % 16)) | (((id) / 16) << 16))

/* CMDSTS */
#define DSA_CMDSTS_ACTIVE       (1u << 31)
#define DSA_CMDSTS_ERR_MASK     0xff
#define DSA_CMDSTS_RESULT_SHIFT 8

enum dsa_cmdsts_err {
	DSA_CMDERR_SUCCESS = 0x00,
	DSA_CMDERR_INVAL_CMD = 0x01,
	DSA_CMDERR_INVAL_WQIDX = 0x02,
	DSA_CMDERR_HW_ERR = 0x03,
	DSA_CMDERR_DEV_ENABLED = 0x10,
	DSA_CMDERR_CONFIG = 0x11,
	DSA_CMDERR_BUSMASTER_EN = 0x12,
	DSA_CMDERR_PASID_INVAL = 0x13,
	DSA_CMDERR_WQ_SIZE_ERANGE = 0x14,
	DSA_CMDERR_GRP_CONFIG = 0x15,
	DSA_CMDERR_GRP_CONFIG2 = 0x16,
	DSA_CMDERR_GRP_CONFIG3 = 0x17,
	DSA_CMDERR_GRP_CONFIG4 = 0x18,
	DSA_CMDERR_DEV_NOTEN = 0x20,
	DSA_CMDERR_WQ_ENABLED = 0x21,
	DSA_CMDERR_WQ_SIZE = 0x22,
	DSA_CMDERR_WQ_PRIOR = 0x23,
	DSA_CMDERR_WQ_MODE = 0x24,
	DSA_CMDERR_BOF_EN = 0x25,
	DSA_CMDERR_PASID_EN = 0x26,
	DSA_CMDERR_MAX_BATCH_SIZE = 0x27,
	DSA_CMDERR_MAX_XFER_SIZE = 0x28,
	DSA_CMDERR_DIS_DEV_EN = 0x31,
	DSA_CMDERR_DEV_NOT_EN = 0x32,
	DSA_CMDERR_INVAL_INT_IDX = 0x41,
	DSA_CMDERR_NO_HANDLE = 0x42,
};

/* SWERR qword 0. */
#define DSA_SWERR_VALID       (1ull << 0)
#define DSA_SWERR_OVERFLOW    (1ull << 1)
#define DSA_SWERR_DESC_VALID  (1ull << 2)
#define DSA_SWERR_WQ_VALID    (1ull << 3)
#define DSA_SWERR_BATCH       (1ull << 4)
#define DSA_SWERR_FAULT_RW    (1ull << 5)
#define DSA_SWERR_PRIV        (1ull << 6)
#define DSA_SWERR_CODE_SHIFT  8
#define DSA_SWERR_WQ_SHIFT    16
#define DSA_SWERR_OP_SHIFT    32

/*
 * Software-error codes this emulation logs for submissions it drops (no
 * completion record can carry them). The spec's codes for these cases are
 * UNCONFIRMED here; see docs/devices/dsa.md.
 */
#define DSA_SWERR_WQ_DISABLED 0x30 /* descriptor written to a disabled WQ's portal */
#define DSA_SWERR_WQ_FULL     0x31 /* dedicated WQ already held wq_size descriptors */
#define DSA_SWERR_WQ_MODE     0x32 /* MOVDIR64B to a shared WQ, ENQCMD to a dedicated one */

/* WQCFG: dword fields (entry stride from WQCAP.wqcfg_size). */
#define DSA_WQCFG_SIZE_MASK        0xffffu      /* dword 0 */
#define DSA_WQCFG_THRESH_MASK      0xffffu      /* dword 1 */
#define DSA_WQCFG_MODE_DEDICATED   (1u << 0)    /* dword 2 */
#define DSA_WQCFG_BOF_EN           (1u << 1)
#define DSA_WQCFG_ATS_DISABLE      (1u << 2)
#define DSA_WQCFG_PRS_DISABLE      (1u << 3)
#define DSA_WQCFG_PRIORITY_SHIFT   4
#define DSA_WQCFG_PRIORITY_MASK    (0xfu << 4)
#define DSA_WQCFG_PASID_SHIFT      8
#define DSA_WQCFG_PASID_EN         (1u << 28)
#define DSA_WQCFG_PRIV             (1u << 29)
#define DSA_WQCFG_MAX_XFER_MASK    0x1fu        /* dword 3 bits 0-4 */
#define DSA_WQCFG_MAX_BATCH_SHIFT  5            /* dword 3 bits 5-8 */
#define DSA_WQCFG_MAX_BATCH_MASK   (0xfu << 5)
#define DSA_WQCFG_STATE_SHIFT      30           /* dword 6 bits 30-31 (RO) */
#define DSA_WQCFG_MODE_SUPPORT     (1u << 29)   /* dword 6 */
#define DSA_WQCFG_OP_CONFIG_DWORD  8            /* dwords 8-15 */
#define DSA_WQCFG_OCCUPANCY_MASK   0xffffu      /* dword 6 bits 0-15 (RO) */
#define DSA_WQ_STATE_DISABLED 0
#define DSA_WQ_STATE_ENABLED  1

/* GRPCFG: 64 bytes per group. */
#define DSA_GRPCFG_SIZE    64
#define DSA_GRPCFG_WQS     0x00  /* 4 x 64-bit bitmap */
#define DSA_GRPCFG_ENGINES 0x20
#define DSA_GRPCFG_FLAGS   0x28

/* Descriptor flags. */
#define DSA_FLAG_FENCE  0x0001u
#define DSA_FLAG_BOF    0x0002u
#define DSA_FLAG_CRAV   0x0004u
#define DSA_FLAG_RCR    0x0008u
#define DSA_FLAG_RCI    0x0010u
#define DSA_FLAG_CRSTS  0x0020u
#define DSA_FLAG_CR     0x0080u
#define DSA_FLAG_CC     0x0100u
#define DSA_FLAG_ADDR1_TCS 0x0200u
#define DSA_FLAG_ADDR2_TCS 0x0400u
#define DSA_FLAG_ADDR3_TCS 0x0800u
#define DSA_FLAG_CR_TCS    0x1000u
#define DSA_FLAG_STORD  0x2000u
#define DSA_FLAG_DRDBK  0x4000u
#define DSA_FLAG_DSTS   0x8000u
/* CRC generation / copy with CRC only (accel-config's names). */
#define DSA_FLAG_CRC_READ_SEED      (1u << 16)
#define DSA_FLAG_CRC_BYPASS_INV_REF (1u << 17)
#define DSA_FLAG_CRC_BYPASS_DATA_REF (1u << 18)
/* Flags every operation accepts (bit 6 is reserved). */
#define DSA_FLAGS_COMMON 0xffbfu
#define DSA_FLAGS_CRC    (DSA_FLAG_CRC_READ_SEED | DSA_FLAG_CRC_BYPASS_INV_REF | \
			  DSA_FLAG_CRC_BYPASS_DATA_REF)

enum dsa_opcode {
	DSA_OP_NOOP = 0x00,
	DSA_OP_BATCH = 0x01,
	DSA_OP_DRAIN = 0x02,
	DSA_OP_MEMMOVE = 0x03,
	DSA_OP_MEMFILL = 0x04,
	DSA_OP_COMPARE = 0x05,
	DSA_OP_COMPVAL = 0x06,
	DSA_OP_CR_DELTA = 0x07,
	DSA_OP_AP_DELTA = 0x08,
	DSA_OP_DUALCAST = 0x09,
	DSA_OP_CRCGEN = 0x10,
	DSA_OP_COPY_CRC = 0x11,
	DSA_OP_DIF_CHECK = 0x12,
	DSA_OP_DIF_INS = 0x13,
	DSA_OP_DIF_STRP = 0x14,
	DSA_OP_DIF_UPDT = 0x15,
	DSA_OP_CFLUSH = 0x20,
};

/* The operations this emulation implements (an OPCAP bitmap's word 0). */
#define DSA_OPS_IMPLEMENTED                                                              \
	((1ull << DSA_OP_NOOP) | (1ull << DSA_OP_BATCH) | (1ull << DSA_OP_DRAIN) |       \
	 (1ull << DSA_OP_MEMMOVE) | (1ull << DSA_OP_MEMFILL) | (1ull << DSA_OP_COMPARE) | \
	 (1ull << DSA_OP_COMPVAL) | (1ull << DSA_OP_DUALCAST) | (1ull << DSA_OP_CRCGEN) |  \
	 (1ull << DSA_OP_COPY_CRC) | (1ull << DSA_OP_CFLUSH))

/* Completion status codes (status bits 0-5; bit 7: the fault was a write). */
enum dsa_comp_status {
	DSA_COMP_NONE = 0x00,
	DSA_COMP_SUCCESS = 0x01,
	DSA_COMP_SUCCESS_PRED = 0x02,
	DSA_COMP_PAGE_FAULT_NOBOF = 0x03,
	DSA_COMP_PAGE_FAULT_IR = 0x04,
	DSA_COMP_BATCH_FAIL = 0x05,
	DSA_COMP_BATCH_PAGE_FAULT = 0x06,
	DSA_COMP_BAD_OPCODE = 0x10,
	DSA_COMP_INVALID_FLAGS = 0x11,
	DSA_COMP_NOZERO_RESERVE = 0x12,
	DSA_COMP_XFER_ERANGE = 0x13,
	DSA_COMP_DESC_CNT_ERANGE = 0x14,
	DSA_COMP_DR_ERANGE = 0x15,
	DSA_COMP_OVERLAP_BUFFERS = 0x16,
	DSA_COMP_DCAST_ERR = 0x17,
	DSA_COMP_DESCLIST_ALIGN = 0x18,
	DSA_COMP_INT_HANDLE_INVAL = 0x19,
	DSA_COMP_CRA_XLAT = 0x1a,
	DSA_COMP_CRA_ALIGN = 0x1b,
	DSA_COMP_ADDR_ALIGN = 0x1c,
	DSA_COMP_PRIV_BAD = 0x1d,
	DSA_COMP_TRAFFIC_CLASS_CONF = 0x1e,
	DSA_COMP_PFAULT_RDBA = 0x1f,
	DSA_COMP_HW_ERR1 = 0x20,
};
#define DSA_COMP_STATUS_MASK 0x3f
#define DSA_COMP_STATUS_WRITE 0x80

/* The 64-byte work descriptor (struct dsa_hw_desc). */
struct dsa_hw_desc {
	uint32_t pasid_priv;      /* pasid bits 0-19, priv bit 31 */
	uint32_t flags_opcode;    /* flags bits 0-23, opcode bits 24-31 */
	uint64_t completion_addr;
	uint64_t src;             /* source / pattern / desc_list_addr */
	uint64_t dst;             /* destination / src2 / compare pattern */
	uint32_t xfer_size;       /* bytes / desc_count */
	uint16_t int_handle;
	uint16_t reserved;
	union {
		uint8_t expected_res; /* compare, compare pattern */
		uint64_t dest2;       /* dualcast */
		struct {
			uint32_t crc_seed;
			uint32_t reserved;
			uint64_t seed_addr;
		} crc;
		uint8_t op_specific[24];
	};
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct dsa_hw_desc) == 64, "descriptor size");
_Static_assert(__builtin_offsetof(struct dsa_hw_desc, xfer_size) == 32, "descriptor layout");
_Static_assert(__builtin_offsetof(struct dsa_hw_desc, int_handle) == 36, "descriptor layout");
_Static_assert(__builtin_offsetof(struct dsa_hw_desc, dest2) == 40, "descriptor layout");
_Static_assert(__builtin_offsetof(struct dsa_hw_desc, crc.seed_addr) == 48, "descriptor layout");

static inline uint32_t dsa_desc_flags(const struct dsa_hw_desc *d)
{
	return d->flags_opcode & 0xffffff;
}

static inline uint8_t dsa_desc_opcode(const struct dsa_hw_desc *d)
{
	return (uint8_t)(d->flags_opcode >> 24);
}

static inline uint32_t dsa_flags_opcode(uint8_t opcode, uint32_t flags)
{
	return ((uint32_t)opcode << 24) | (flags & 0xffffff);
}

/* The 32-byte completion record (32-byte aligned). */
struct dsa_completion_record {
	uint8_t status;           /* written last by the device */
	uint8_t result;
	uint8_t fault_info;
	uint8_t reserved;
	uint32_t bytes_completed; /* descs_completed for a batch */
	uint64_t fault_addr;
	union {
		uint64_t crc_val;
		uint32_t invalid_flags;
		uint8_t op_specific[16];
	};
} __attribute__((aligned(32)));

_Static_assert(sizeof(struct dsa_completion_record) == 32, "completion record size");
_Static_assert(__builtin_offsetof(struct dsa_completion_record, fault_addr) == 8, "record layout");
_Static_assert(__builtin_offsetof(struct dsa_completion_record, crc_val) == 16, "record layout");

#define DSA_COMPLETION_ALIGN 32u
#define DSA_DESC_LIST_ALIGN  64u

#endif
