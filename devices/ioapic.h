/* SPDX-License-Identifier: MIT */
/*
 * User-space IOAPIC for KVM's split irqchip: line interrupts for devices
 * that have no MSI (virtio-mmio, the UART), delivered as MSIs built from
 * the redirection table. Level-triggered pins keep Remote IRR until the
 * guest's EOI comes back as KVM_EXIT_IOAPIC_EOI (vcpu.c calls ioapic_eoi()).
 */
#ifndef DEVICES_IOAPIC_H
#define DEVICES_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct ioapic;

#define IOAPIC_PINS        24
#define IOAPIC_BASE        0xfec00000ull
#define IOAPIC_SIZE        0x1000ull
/* Phandle of the IOAPIC node: devices use it as interrupt-parent. */
#define FDT_PHANDLE_IOAPIC 1u
/*
 * Second interrupt cell of "intel,ce4100-ioapic": an index into Linux's
 * of_ioapic_type[] (arch/x86/kernel/devicetree.c, since the table fix in
 * 5.x): 0 edge falling, 1 level high, 2 level low, 3 edge rising.
 * device-facts 6.5 gives the older, swapped order.
 */
#define IOAPIC_FDT_EDGE_RISING 3u
#define IOAPIC_FDT_LEVEL_HIGH  1u

/* Drive a pin (logical level: 1 = asserted). Safe from any thread. */
void ioapic_set_level(struct ioapic *ioapic, unsigned pin, bool asserted);
/* The guest EOI'd `vector`: release Remote IRR, re-deliver still-asserted pins. */
void ioapic_eoi(struct ioapic *ioapic, uint8_t vector);

/*
 * Resampling for a level source that only learns of the guest's EOI here
 * (vfio-pci INTx, whose line the host masks after each interrupt): on the
 * EOI of `pin`, before re-delivery, fn(opaque) is called with the IOAPIC
 * lock held and returns whether the line is still asserted. It must not
 * call back into the IOAPIC. fn NULL removes it. One per pin; 0, -EINVAL
 * or -EBUSY.
 */
typedef bool ioapic_eoi_fn(void *opaque);
int ioapic_set_eoi_notifier(struct ioapic *ioapic, unsigned pin, ioapic_eoi_fn *fn, void *opaque);
/* Whether pin's redirection entry is level-triggered (edge pins get no EOI). */
bool ioapic_pin_is_level(struct ioapic *ioapic, unsigned pin);

#endif
