/* SPDX-License-Identifier: MIT */
/* Shared between the two halves of guest test `vfio-hostile`: hostile.c
 * (the DSA behind vfio-pci) and mc.c (the DPRC behind vfio-fsl-mc). */
#ifndef GUEST_TESTS_VFIO_HOSTILE_H
#define GUEST_TESTS_VFIO_HOSTILE_H

#include <stdbool.h>

/* hostile.c: the DSA works (registers, DMA, each interrupt exactly once, the memslot). */
bool dsa_ready(void);
void check_device_works(const char *after);

/* mc.c: find the MC (called by test_setup). */
void mc_setup(void);

#endif
