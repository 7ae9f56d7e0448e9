/* SPDX-License-Identifier: MIT */
/*
 * FPGA Device Feature List (DFL) definitions shared by the emulated DFL card
 * (devices/dfl/), the host walker (devices/dfl/walker.c) and the firmware
 * walker and AFU driver (firmware/dfl.c).
 *
 * Part 1 is architectural: the Device Feature Header (DFH) v0/v1, FME and
 * Port header registers, private feature ids and their interrupt capability
 * registers, DFHv1 parameters. Values from Linux drivers/fpga/dfl.h,
 * drivers/fpga/dfl.c, drivers/fpga/dfl-pci.c, include/linux/dfl.h and
 * Documentation/fpga/dfl.rst (restated in shared reference/device-facts.md
 * section 5). All registers are 64-bit little-endian.
 *
 * Part 2 is this project's own: the PCI identity and BAR0 layout of the
 * emulated card, and the register interface of its AFU, a DMA copy/fill
 * engine (docs/devices/dfl.md). Plain C macros and one struct; no host or
 * firmware headers needed.
 */
#ifndef DFL_REGS_H
#define DFL_REGS_H

#include <stdint.h>

/* ---- Part 1: the DFL format ---- */

/* Device Feature Header, 64 bits at feature offset 0. */
#define DFH_ID_SHIFT          0
#define DFH_ID_MASK           0xfffull           /* bits 11:0 */
#define DFH_REVISION_SHIFT    12
#define DFH_REVISION_MASK     0xfull             /* bits 15:12 */
#define DFH_NEXT_SHIFT        16
#define DFH_NEXT_MASK         0xffffffull        /* bits 39:16, bytes to the next DFH */
#define DFH_EOL               (1ull << 40)       /* end of list */
#define DFH_VERSION_SHIFT     52
#define DFH_VERSION_MASK      0xffull            /* bits 59:52 */
#define DFH_TYPE_SHIFT        60
#define DFH_TYPE_MASK         0xfull             /* bits 63:60 */

#define DFH_TYPE_AFU          1
#define DFH_TYPE_PRIVATE      3
#define DFH_TYPE_FIU          4

#define DFH_FIU_ID_FME        0
#define DFH_FIU_ID_PORT       1

#define DFH_SIZE              8                  /* a list needs room for one DFH */
#define DFH_DEFAULT_SIZE      4096               /* feature_size() when NEXT is 0 */

#define DFH_GET(v, field) (((uint64_t)(v) >> DFH_##field##_SHIFT) & DFH_##field##_MASK)

/* Build a DFH. */
#define DFH_MAKE(type, version, eol, next, revision, id)                                  \
	(((uint64_t)(type) << DFH_TYPE_SHIFT) | ((uint64_t)(version) << DFH_VERSION_SHIFT) | \
	 ((eol) ? DFH_EOL : 0) | (((uint64_t)(next) & DFH_NEXT_MASK) << DFH_NEXT_SHIFT) |   \
	 ((uint64_t)(revision) << DFH_REVISION_SHIFT) | ((uint64_t)(id) & DFH_ID_MASK))

/* Registers common to FIU and AFU headers (v0), and to every v1 feature. */
#define DFL_GUID_L            0x08
#define DFL_GUID_H            0x10
#define DFL_NEXT_AFU          0x18   /* FIU: bits 23:0 = AFU offset from the FIU */
#define DFL_NEXT_AFU_MASK     0xffffffull

/* DFHv1 registers (any feature type with DFH version 1). */
#define DFHV1_CSR_ADDR        0x18   /* bit 0 REL (1 = absolute); address in bits 63:1 */
#define DFHV1_CSR_ADDR_REL    1ull
#define DFHV1_CSR_SIZE_GRP    0x20
#define DFHV1_CSR_HAS_PARAMS  (1ull << 31)
#define DFHV1_CSR_SIZE_SHIFT  32     /* bits 63:32: CSR size in bytes */
#define DFHV1_PARAM_HDR       0x28   /* first parameter header */
#define DFHV1_PARAM_ID_MASK   0xffffull          /* bits 15:0 */
#define DFHV1_PARAM_VER_SHIFT 16                 /* bits 31:16 */
#define DFHV1_PARAM_EOP       (1ull << 32)
#define DFHV1_PARAM_NEXT_SHIFT 35                /* bits 63:35, in 8-byte words */
#define DFHV1_PARAM_ID_MSI_X  1      /* data: 31:0 first vector, 63:32 count */
#define DFHV1_PARAM_ID_CLK_FRQ 2
#define DFHV1_PARAM_ID_FIFO_LEN 3
#define DFHV1_PARAM_ID_REG_LAYOUT 4

/* FME header registers. */
#define FME_HDR_SCRATCHPAD    0x28
#define FME_HDR_CAP           0x30
#define FME_CAP_NUM_PORTS_SHIFT 17   /* bits 19:17 */
#define FME_CAP_NUM_PORTS_MASK 0x7ull
#define FME_CAP_ADDR_WIDTH_SHIFT 24  /* bits 29:24 */
#define FME_HDR_PORT_OFST(n)  (0x38 + 8 * (n))
#define FME_PORT_OFST_DFH_MASK 0xffffffull       /* bits 23:0 */
#define FME_PORT_OFST_BAR_SHIFT 32               /* bits 34:32 */
#define FME_PORT_OFST_BAR_MASK 0x7ull
#define FME_PORT_OFST_BAR_SKIP 7
#define FME_PORT_OFST_ACC_CTRL (1ull << 55)
#define FME_PORT_OFST_IMP     (1ull << 60)
#define FME_HDR_BITSTREAM_ID  0x60
#define FME_HDR_BITSTREAM_MD  0x68
#define FME_MAX_PORTS         4      /* MAX_DFL_FPGA_PORT_NUM */

/* Port header registers. */
#define PORT_HDR_CAP          0x30
#define PORT_CAP_PORT_NUM_MASK 0x3ull            /* bits 1:0 */
#define PORT_CAP_MMIO_SIZE_SHIFT 8               /* bits 23:8, KiB */
#define PORT_CAP_MMIO_SIZE_MASK 0xffffull
#define PORT_CAP_SUPP_INT_SHIFT 32               /* bits 35:32 */
#define PORT_HDR_CTRL         0x38
#define PORT_CTRL_SFTRST      (1ull << 0)
#define PORT_CTRL_LATENCY     (1ull << 2)
#define PORT_CTRL_SFTRST_ACK  (1ull << 4)
#define PORT_HDR_STS          0x40

/* Private feature ids. */
#define FME_FEATURE_ID_THERMAL_MGMT 0x1
#define FME_FEATURE_ID_POWER_MGMT   0x2
#define FME_FEATURE_ID_GLOBAL_IPERF 0x3
#define FME_FEATURE_ID_GLOBAL_ERR   0x4
#define FME_FEATURE_ID_PR_MGMT      0x5
#define PORT_FEATURE_ID_ERROR       0x10
#define PORT_FEATURE_ID_UMSG        0x11
#define PORT_FEATURE_ID_UINT        0x12
#define PORT_FEATURE_ID_STP         0x13

/* DFHv0 interrupt capability registers (offsets inside the feature). */
#define FME_ERROR_CAP         0x70   /* GLOBAL_ERR: bit 0 SUPP_INT, bits 12:1 INT_VECT */
#define PORT_ERROR_CAP        0x38   /* ERROR: same layout */
#define DFL_ERROR_CAP_SUPP_INT 1ull
#define DFL_ERROR_CAP_VECT_SHIFT 1
#define DFL_ERROR_CAP_VECT_MASK 0xfffull
#define PORT_UINT_CAP         0x08   /* UINT: bits 11:0 INT_NUM, 23:12 FST_VECT */
#define PORT_UINT_CAP_NUM_MASK 0xfffull
#define PORT_UINT_CAP_FST_SHIFT 12
#define PORT_UINT_CAP_FST_MASK 0xfffull

/* Well-known GUIDs (OPAE): GUID_H, GUID_L. */
#define DFL_FME_GUID_H        0xbfaf2ae94a5246e3ull
#define DFL_FME_GUID_L        0x82fe38f0f9e17764ull
#define DFL_PORT_GUID_H       0x3ab49893138d42ebull
#define DFL_PORT_GUID_L       0x9642b06c6b355b87ull

/* PCI ids bound by Linux dfl-pci (device-facts 5.5): default BAR0 walk. */
#define DFL_PCI_VENDOR_ID     0x8086
#define DFL_PCI_DEVICE_ID     0xbcc0  /* PAC PF */
#define DFL_PCI_CLASS         0x120000 /* processing accelerator */

/* ---- Part 2: this project's card ---- */

/*
 * BAR0 layout (DFH offsets). Each private feature owns 4 KiB; with DFH
 * version 1 its CSRs sit at DFH + DFL_CARD_V1_CSR (CSR_ADDR relative) and
 * span DFL_CARD_V1_CSR_SIZE bytes; with version 0 they start at the DFH.
 * FIU headers (FME, Port) always use DFH version 0: their header registers
 * (NEXT_AFU at 0x18, *_CAP at 0x30) sit where v1 puts CSR_ADDR and params.
 */
#define DFL_CARD_BAR0         0
#define DFL_CARD_MSIX_BAR     2
#define DFL_CARD_MSIX_TABLE   0x000
#define DFL_CARD_MSIX_PBA     0x800
#define DFL_CARD_FEATURE_SIZE 0x1000
#define DFL_CARD_FME          0x0000
#define DFL_CARD_FME_THERMAL  0x1000
#define DFL_CARD_FME_GERR     0x2000
#define DFL_CARD_PORT(p)      (0x8000 + 0x8000 * (p))
#define DFL_CARD_PORT_ERROR   0x1000  /* from the port */
#define DFL_CARD_PORT_UINT    0x2000
#define DFL_CARD_AFU          0x4000  /* from the port: NEXT_AFU */
#define DFL_CARD_AFU_SIZE     0x4000  /* PORT_CAP.MMIO_SIZE = 16 KiB */
#define DFL_CARD_V1_CSR       0x100
#define DFL_CARD_V1_CSR_SIZE  0x100
#define DFL_CARD_MAX_PORTS    4
#define DFL_CARD_BAR0_SIZE    0x40000 /* room for 4 ports */

/* MSI-X entries: FME error 0; port p: error 1 + 2p, user interrupt (AFU) 2 + 2p. */
#define DFL_CARD_VEC_FME_ERR      0
#define DFL_CARD_VEC_PORT_ERR(p)  (1 + 2 * (p))
#define DFL_CARD_VEC_AFU(p)       (2 + 2 * (p))

#define DFL_CARD_BITSTREAM_ID 0x00564d4d44464c01ull /* "\0VMMDFL" v1 */
#define DFL_CARD_BITSTREAM_MD 0x0000000020250101ull

/* Emulated FME/Port private feature registers (relative to the CSR start). */
#define DFL_THERMAL_THRESHOLD 0x08   /* RO */
#define DFL_THERMAL_RDSENSOR  0x10   /* RO: bits 6:0 temperature, degrees C */
#define DFL_THERMAL_TEMP_C    40
#define DFL_GERR_MASK         0x08   /* RW: set bits do not interrupt */
#define DFL_GERR_ERROR        0x10   /* RW1C */
#define DFL_GERR_INJECT       0x78   /* WO (emulator): OR into ERROR, interrupt if unmasked */
#define DFL_PERR_MASK         0x08   /* RW */
#define DFL_PERR_ERROR        0x10   /* RW1C: bit 0 = AFU DMA fault (emulator) */
#define DFL_PERR_FIRST_ERROR  0x18   /* RO: ERROR value when the first error latched */
#define DFL_PERR_DMA_FAULT    1ull

/*
 * AFU (at port + DFL_CARD_AFU): DFH (type AFU) + GUID at 0x00-0x17 (v1:
 * CSR_ADDR 0, CSR_SIZE_GROUP = AFU size with params, an MSI_X parameter at
 * 0x28), then the accelerator's registers from 0x100. All 64-bit.
 */
#define DFL_AFU_MAGIC         0x100  /* RO: DFL_AFU_MAGIC_VALUE */
#define DFL_AFU_CAPS          0x108  /* RO: ops, ring limits */
#define DFL_AFU_SCRATCH(i)    (0x110 + 8 * (i)) /* RW, i < 4 */
#define DFL_AFU_SCRATCH_COUNT 4
#define DFL_AFU_RING_BASE     0x140  /* RW: guest-physical, 64-byte aligned */
#define DFL_AFU_RING_SIZE     0x148  /* RW: entries, power of two, 1..DFL_AFU_RING_MAX */
#define DFL_AFU_RING_TAIL     0x150  /* RW: doorbell, free-running index past the last posted */
#define DFL_AFU_RING_HEAD     0x158  /* RO: free-running index of the next to run */
#define DFL_AFU_CTRL          0x160  /* RW */
#define DFL_AFU_STATUS        0x168  /* RO */
#define DFL_AFU_ERROR         0x170  /* RW1C */
#define DFL_AFU_ERROR_ADDR    0x178  /* RO: guest address of the last fault */
#define DFL_AFU_COMPLETED     0x180  /* RO: descriptors completed (any status) */
#define DFL_AFU_BYTES         0x188  /* RO: bytes copied or filled */
#define DFL_AFU_IRQ_VECTOR    0x190  /* RO: MSI-X entry of completions */
#define DFL_AFU_TAIL_ADDR     0x198  /* RW: guest-physical address of a 32-bit tail word
					the engine polls (exitless doorbell); 0: off */
#define DFL_AFU_REGS_END      0x1a0

#define DFL_AFU_MAGIC_VALUE   0x3130554641564d4dull /* "MMVAFU01" */
#define DFL_AFU_CAP_COPY      (1ull << 0)
#define DFL_AFU_CAP_FILL      (1ull << 1)
#define DFL_AFU_CAP_RING_MAX_SHIFT 16             /* bits 31:16: DFL_AFU_RING_MAX */
#define DFL_AFU_RING_MAX      4096

#define DFL_AFU_CTRL_ENABLE   (1ull << 0)  /* process descriptors */
#define DFL_AFU_CTRL_RESET    (1ull << 1)  /* WO: head = tail = 0, errors and halt cleared */
#define DFL_AFU_CTRL_IRQ      (1ull << 2)  /* completions with DESC_IRQ interrupt */

#define DFL_AFU_STATUS_ENABLED (1ull << 0)
#define DFL_AFU_STATUS_HALTED (1ull << 1)  /* ring fault: no descriptor runs until RESET */
#define DFL_AFU_STATUS_PORT_RESET (1ull << 2) /* the port holds the AFU in soft reset */

#define DFL_AFU_ERR_RING      (1ull << 0)  /* ring base/size/tail word invalid or not in RAM */
#define DFL_AFU_ERR_ADDRESS   (1ull << 1)  /* a descriptor's buffer is not in guest RAM */
#define DFL_AFU_ERR_DESC      (1ull << 2)  /* unknown op or reserved flags */
#define DFL_AFU_ERR_DENIED    (1ull << 3)  /* DMA not allowed: bus master off or partial assignment */

/* One 64-byte descriptor in the guest-RAM ring. */
struct dfl_afu_desc {
	uint32_t op;          /* DFL_AFU_OP_* */
	uint32_t flags;       /* DFL_AFU_DESC_* */
	uint64_t src;         /* COPY: source address; FILL: 8-byte pattern */
	uint64_t dst;
	uint64_t len;         /* bytes */
	uint64_t bytes_done;  /* written by the engine */
	uint32_t status;      /* written by the engine, last: DFL_AFU_ST_* */
	uint32_t reserved;
	uint64_t user;        /* left alone */
	uint64_t pad;
};

#define DFL_AFU_DESC_SIZE     64
#define DFL_AFU_OP_NOP        0
#define DFL_AFU_OP_COPY       1    /* memmove semantics */
#define DFL_AFU_OP_FILL       2    /* pattern repeated, little-endian, last copy cut */
#define DFL_AFU_DESC_IRQ      1u   /* interrupt on completion (with CTRL.IRQ) */

#define DFL_AFU_ST_PENDING    0
#define DFL_AFU_ST_OK         1
#define DFL_AFU_ST_ADDRESS    2    /* buffer not in guest RAM: nothing written */
#define DFL_AFU_ST_BAD_DESC   3
#define DFL_AFU_ST_DENIED     4

#endif
