/* SPDX-License-Identifier: MIT */
/* Every unit-test suite, one constructor per tests/unit/test_*.c file. */
#ifndef TESTS_UNIT_SUITES_H
#define TESTS_UNIT_SUITES_H

#include <check.h>

Suite *toml_suite(void);
Suite *config_suite(void);
Suite *bus_suite(void);
Suite *elf_suite(void);
Suite *fdt_suite(void);
Suite *pci_suite(void);
Suite *irq_suite(void);
Suite *poll_suite(void);
Suite *fslmc_suite(void);
Suite *ioapic_suite(void);
Suite *dsa_suite(void);
Suite *dfl_suite(void);
Suite *x86_insn_suite(void);
Suite *linux_boot_suite(void);
Suite *virtio_suite(void);
Suite *vfio_uapi_suite(void);
Suite *vfio_pci_config_suite(void);
Suite *vfio_fslmc_suite(void);

#endif
