/* SPDX-License-Identifier: MIT */
/*
 * A small Intel DSA (idxd) driver for self-test images (firmware/dsa.c),
 * on top of fw/pci.h. It initialises the device exactly the way the Linux
 * VFIO selftest userspace driver does (tools/testing/selftests/vfio/lib/
 * drivers/dsa/dsa.c; device-facts 3.10) and submits 64-byte descriptors
 * with MOVDIR64B, at CPL 3, in one of two disciplines:
 *
 *   FW_DSA_OFFSET0   every descriptor to portal offset 0, back to back, as
 *                    the VFIO selftest driver does (needs a trapped portal);
 *   FW_DSA_ROTATE    the next 64-byte slot of the portal page each time, as
 *                    the Linux idxd driver does. Correct for a polled portal
 *                    as long as at most 64 descriptors are outstanding.
 *
 * Register layout, descriptors and status codes: include/dsa_regs.h.
 */
#ifndef FW_DSA_H
#define FW_DSA_H

#include <stdbool.h>
#include <stdint.h>

#include "dsa_regs.h"
#include "fw/pci.h"

enum fw_dsa_discipline { FW_DSA_OFFSET0, FW_DSA_ROTATE };

struct fw_dsa {
	struct fw_pci_dev *pci;
	volatile uint8_t *regs;      /* BAR0 */
	volatile uint8_t *portals;   /* BAR2 */
	struct fw_msix msix;
	uint64_t gencap, wqcap, grpcap, engcap, opcap;
	uint64_t table_offset[2];
	uint32_t grpcfg_offset, wqcfg_offset, wqcfg_size;
	unsigned int num_wqs, total_wq_size, max_xfer_shift, max_batch_shift;
	enum fw_dsa_discipline discipline;
	unsigned int next_slot[8][4]; /* FW_DSA_ROTATE: per WQ and portal page */
};

/* Register access. */
static inline uint32_t fw_dsa_read32(const struct fw_dsa *dsa, uint32_t offset)
{
	return *(const volatile uint32_t *)(dsa->regs + offset);
}

static inline uint64_t fw_dsa_read64(const struct fw_dsa *dsa, uint32_t offset)
{
	return *(const volatile uint64_t *)(dsa->regs + offset);
}

static inline void fw_dsa_write32(const struct fw_dsa *dsa, uint32_t offset, uint32_t v)
{
	*(volatile uint32_t *)(dsa->regs + offset) = v;
}

static inline void fw_dsa_write64(const struct fw_dsa *dsa, uint32_t offset, uint64_t v)
{
	*(volatile uint64_t *)(dsa->regs + offset) = v;
}

/*
 * Find the nth 8086:0b25 function, map its BARs (fw_pci_init assigns them
 * if needed), read the capability registers, locate MSI-X. Applies the
 * selftest's probe rule (refuse cmd_cap with REQUEST_INT_HANDLE). 0 or -1.
 */
int fw_dsa_probe(struct fw_dsa *dsa, int nth, enum fw_dsa_discipline discipline);

/* Write CMD and poll CMDSTS.active (1 ms steps, ~5 s), checking SWERR.valid
 * as the selftest does. Returns CMDSTS.err, or -1 on timeout/SWERR. */
int fw_dsa_command(struct fw_dsa *dsa, uint32_t cmd);

/* WQCFG of `wq` the selftest's way: every dword written (32-bit). */
void fw_dsa_configure_wq(struct fw_dsa *dsa, unsigned int wq, uint32_t size, bool dedicated,
			 uint64_t ops);
/* GRPCFG of `group` (64-bit writes). */
void fw_dsa_configure_group(struct fw_dsa *dsa, unsigned int group, uint64_t wqs,
			    uint64_t engines);
uint32_t fw_dsa_wqcfg(const struct fw_dsa *dsa, unsigned int wq, unsigned int dword);
unsigned int fw_dsa_wq_state(const struct fw_dsa *dsa, unsigned int wq);

/*
 * The selftest's init: PCI COMMAND = MEMORY | MASTER | INTX_DISABLE, reset,
 * WQ0 = whole WQ space, dedicated, priority 1, max shifts from GENCAP,
 * op_config = ops; group 0 = WQ0 + engine 0; ENABLE_DEVICE; ENABLE_WQ 0.
 * Returns 0 or the first failing CMDSTS.err (-1: timeout).
 */
int fw_dsa_init(struct fw_dsa *dsa, uint64_t ops);

/* Point MSI-X entry `entry` at `vector` on this CPU and enable MSI-X. */
void fw_dsa_msix(struct fw_dsa *dsa, unsigned int entry, unsigned int vector);

/* MOVDIR64B of desc to WQ `wq`'s portal page `page` (0: unlimited MSI-X).
 * With FW_DSA_ROTATE each (WQ, page) has its own slot rotation: CPUs that
 * submit concurrently to a polled WQ use different pages. */
void fw_dsa_submit_page(struct fw_dsa *dsa, unsigned int wq, unsigned int page,
			const struct dsa_hw_desc *desc);
static inline void fw_dsa_submit(struct fw_dsa *dsa, const struct dsa_hw_desc *desc)
{
	fw_dsa_submit_page(dsa, 0, 0, desc);
}

/*
 * n descriptors to WQ 0, page 0, with one SFENCE before them all instead of
 * one each. MOVDIR64B is weakly ordered, so a fence must order the stores
 * the device will read (data, cleared records) before the submission; a
 * fence also waits for earlier MOVDIR64Bs to reach memory (~0.5 us here),
 * so one per group is what makes high descriptor rates possible.
 */
void fw_dsa_submit_many(struct fw_dsa *dsa, const struct dsa_hw_desc *descs, unsigned int n);

/* Spin until the record's status is non-zero or timeout_tsc ticks pass;
 * returns the status, or 0 on timeout. */
uint8_t fw_dsa_wait(const struct dsa_completion_record *record, uint64_t timeout_tsc);

/* Software CRC32C in DSA's convention (seed inverted in and out). */
uint32_t fw_dsa_crc32c(uint32_t seed, const void *data, uint64_t len);

#endif
