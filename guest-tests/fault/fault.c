// SPDX-License-Identifier: MIT
/*
 * fault: reads an address outside the 4 GiB identity map from CPL 3. The
 * #PF handler must report it (cr2 = that address) and exit with value 3
 * (process status 7).
 */
#include "fw/test.h"

const char *test_image_name = "fault";

#define UNMAPPED 0x0000001234567000ull

TEST(page_fault_is_reported)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)UNMAPPED;

	printf("# reading 0x%016llx, expect FATAL #PF with that cr2\n", UNMAPPED);
	(void)*p;
	CHECK(0, "the read of 0x%llx did not fault", UNMAPPED);
}
