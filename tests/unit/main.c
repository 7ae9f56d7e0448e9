/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	Suite *(*const suites[])(void) = {
		toml_suite, config_suite, bus_suite, elf_suite, fdt_suite, irq_suite, poll_suite,
		fslmc_suite,
		pci_suite, dsa_suite, x86_insn_suite, linux_boot_suite, ioapic_suite, dfl_suite,
		virtio_suite, vfio_uapi_suite, vfio_pci_config_suite,
		vfio_fslmc_suite,
	};
	SRunner *runner = srunner_create(NULL);

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(runner, suites[i]());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
