// SPDX-License-Identifier: MIT
/* Guest test `dfl`: FME and port registers, their interrupts (dfltest.h). */
#include "dfltest.h"
#include "fw/irq.h"
#include "fw/test.h"

static uint64_t csr(uint64_t dfh)
{
	return dfh + (want.dfh == 1 ? DFL_CARD_V1_CSR : 0);
}

TEST(fme_header_registers)
{
	REQUIRE(card, "no card");
	uint64_t cap = reg64(FME_HDR_CAP);

	CHECK_EQ((cap >> FME_CAP_NUM_PORTS_SHIFT) & FME_CAP_NUM_PORTS_MASK, want.ports);
	for (unsigned p = 0; p < FME_MAX_PORTS; p++) {
		uint64_t ofst = reg64(FME_HDR_PORT_OFST(p));

		if (p >= want.ports) {
			CHECK_EQ(ofst & FME_PORT_OFST_IMP, 0);
			continue;
		}
		CHECK_EQ(ofst & FME_PORT_OFST_DFH_MASK, DFL_CARD_PORT(p));
		CHECK_EQ((ofst >> FME_PORT_OFST_BAR_SHIFT) & FME_PORT_OFST_BAR_MASK, 0);
		CHECK(ofst & FME_PORT_OFST_IMP, "port %u not implemented", p);
	}
	CHECK_EQ(reg64(DFL_NEXT_AFU), 0); /* Linux reads it for every FIU */
	CHECK_EQ(reg64(FME_HDR_BITSTREAM_ID), DFL_CARD_BITSTREAM_ID);
	CHECK_EQ(reg64(FME_HDR_BITSTREAM_MD), DFL_CARD_BITSTREAM_MD);
	wreg64(FME_HDR_SCRATCHPAD, 0x0123456789abcdefull);
	CHECK_EQ(reg64(FME_HDR_SCRATCHPAD), 0x0123456789abcdefull);
	/* 32-bit halves reach the same register. */
	*(volatile uint32_t *)(bar0 + FME_HDR_SCRATCHPAD + 4) = 0x5a5a5a5a;
	CHECK_EQ(reg64(FME_HDR_SCRATCHPAD), 0x5a5a5a5a89abcdefull);
	/* Read-only: the DFH ignores writes. */
	uint64_t dfh = reg64(0);

	wreg64(0, 0);
	CHECK_EQ(reg64(0), dfh);
	CHECK_EQ(reg64(csr(DFL_CARD_FME_THERMAL) + DFL_THERMAL_RDSENSOR) & 0x7f, DFL_THERMAL_TEMP_C);
}

TEST(fme_error_interrupt)
{
	REQUIRE(card, "no card");
	uint64_t gerr = csr(DFL_CARD_FME_GERR);
	unsigned vec = DFL_VEC_BASE + DFL_CARD_VEC_FME_ERR;
	uint32_t before = fw_irq_count(vec);

	CHECK_EQ(reg64(gerr + FME_ERROR_CAP),
		 DFL_ERROR_CAP_SUPP_INT | DFL_CARD_VEC_FME_ERR << DFL_ERROR_CAP_VECT_SHIFT);
	wreg64(gerr + DFL_GERR_INJECT, 0x4);
	CHECK(fw_irq_wait_count(vec, before + 1, ms_tsc(100)), "no FME error interrupt");
	CHECK_EQ(reg64(gerr + DFL_GERR_ERROR), 0x4);
	wreg64(gerr + DFL_GERR_ERROR, 0x4); /* RW1C */
	CHECK_EQ(reg64(gerr + DFL_GERR_ERROR), 0);
	/* Masked: latched, no interrupt. */
	wreg64(gerr + DFL_GERR_MASK, 0x8);
	wreg64(gerr + DFL_GERR_INJECT, 0x8);
	CHECK(!fw_irq_wait_count(vec, before + 2, ms_tsc(5)), "masked error interrupted");
	CHECK_EQ(reg64(gerr + DFL_GERR_ERROR), 0x8);
	wreg64(gerr + DFL_GERR_ERROR, ~0ull);
	wreg64(gerr + DFL_GERR_MASK, 0);
	CHECK_EQ(fw_irq_count(vec) - before, 1);
}

TEST(port_header_registers)
{
	REQUIRE(card, "no card");
	for (unsigned p = 0; p < want.ports; p++) {
		uint64_t port = DFL_CARD_PORT(p), cap = reg64(port + PORT_HDR_CAP);

		CHECK_EQ(cap & PORT_CAP_PORT_NUM_MASK, p);
		CHECK_EQ(((cap >> PORT_CAP_MMIO_SIZE_SHIFT) & PORT_CAP_MMIO_SIZE_MASK) << 10,
			 DFL_CARD_AFU_SIZE);
		CHECK_EQ((cap >> PORT_CAP_SUPP_INT_SHIFT) & 0xf, 2);
		CHECK_EQ(reg64(port + DFL_NEXT_AFU), DFL_CARD_AFU);
		CHECK_EQ(reg64(csr(port + DFL_CARD_PORT_UINT) + PORT_UINT_CAP),
			 1 | (uint64_t)DFL_CARD_VEC_AFU(p) << PORT_UINT_CAP_FST_SHIFT);
	}
}

/* Linux's port disable/enable: SFTRST, then poll SFTRST_ACK; the AFU holds. */
TEST(port_soft_reset_holds_the_afu)
{
	REQUIRE(card, "no card");
	uint64_t ctrl = DFL_CARD_PORT(0) + PORT_HDR_CTRL;
	volatile uint8_t *afu = afu_regs(0);

	*(volatile uint64_t *)(afu + DFL_AFU_SCRATCH(0)) = 7;
	wreg64(ctrl, PORT_CTRL_SFTRST);
	CHECK_EQ(reg64(ctrl) & (PORT_CTRL_SFTRST | PORT_CTRL_SFTRST_ACK),
		 PORT_CTRL_SFTRST | PORT_CTRL_SFTRST_ACK);
	CHECK(*(volatile uint64_t *)(afu + DFL_AFU_STATUS) & DFL_AFU_STATUS_PORT_RESET,
	      "AFU does not report the port reset");
	*(volatile uint64_t *)(afu + DFL_AFU_SCRATCH(0)) = 9; /* dropped */
	CHECK_EQ(*(volatile uint64_t *)(afu + DFL_AFU_SCRATCH(0)), 7);
	wreg64(ctrl, 0);
	CHECK_EQ(reg64(ctrl) & PORT_CTRL_SFTRST_ACK, 0);
	CHECK_EQ(*(volatile uint64_t *)(afu + DFL_AFU_STATUS) & DFL_AFU_STATUS_PORT_RESET, 0);
}

TEST(bad_accesses_are_harmless)
{
	REQUIRE(card, "no card");
	/* 2-byte and misaligned accesses read all-ones; writes are dropped. */
	CHECK_EQ(*(volatile uint16_t *)(bar0 + FME_HDR_SCRATCHPAD), 0xffff);
	*(volatile uint16_t *)(bar0 + FME_HDR_SCRATCHPAD) = 0;
	CHECK(reg64(FME_HDR_SCRATCHPAD) != 0, "2-byte write landed");
	/* Unused space inside BAR0 reads 0. */
	CHECK_EQ(reg64(DFL_CARD_BAR0_SIZE - 8), 0);
}
