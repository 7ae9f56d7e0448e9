/* SPDX-License-Identifier: MIT */
/*
 * Register interface of the emulated PCI test function (devices/pci/
 * testdev.c), shared with the firmware that drives it. Usable from assembly.
 *
 * Identity: vendor 0x7f56, device 0x0001, class 0xff0000 (unassigned).
 * 0x7f56 is not a PCI-SIG-assigned vendor id; the function exists only
 * inside VMs of this project, to test and measure interrupt plumbing.
 *
 * BARs:
 *   BAR0  4 KiB 32-bit MMIO, non-prefetchable: the registers below
 *   BAR2  4 KiB 32-bit MMIO: MSI-X table at 0x000, PBA at 0x800
 *   BAR4  32 bytes I/O: PCI_TESTDEV_IO_* (echo and write counter, for
 *         testing I/O BAR sizing and decoding)
 * Capabilities: MSI-X (table size = config `vectors`, 1..64).
 *
 * Every 32-bit register write to BAR0 or BAR4 counts in WRITE_COUNT
 * (except writes to WRITE_COUNT itself, which reset it to 0).
 */
#ifndef PCI_TESTDEV_H
#define PCI_TESTDEV_H

#define PCI_TESTDEV_VENDOR_ID 0x7f56
#define PCI_TESTDEV_DEVICE_ID 0x0001
#define PCI_TESTDEV_CLASS     0xff0000
#define PCI_TESTDEV_MAGIC     0x54534554 /* "TEST" */
#define PCI_TESTDEV_MAX_VECTORS 64

#define PCI_TESTDEV_MSIX_BAR        2
#define PCI_TESTDEV_MSIX_TABLE      0x000
#define PCI_TESTDEV_MSIX_PBA        0x800

/* BAR0 registers, 32-bit accesses. */
#define PCI_TESTDEV_MAGIC_REG    0x00 /* RO: PCI_TESTDEV_MAGIC */
#define PCI_TESTDEV_VERSION      0x04 /* RO: 1 */
#define PCI_TESTDEV_VECTORS      0x08 /* RO: number of MSI-X vectors */
#define PCI_TESTDEV_ECHO         0x0c /* RW: reads return the last value written */
#define PCI_TESTDEV_WRITE_COUNT  0x10 /* RO count of register writes; write: reset to 0 */
#define PCI_TESTDEV_RAISE        0x14 /* WO: raise MSI-X vector N (N >= vectors: ignored, ERROR bit 0 set) */
#define PCI_TESTDEV_TIMER_US     0x18 /* RW: write N arms the host timer: first expiry in N us (0 cancels) */
#define PCI_TESTDEV_TIMER_VECTOR 0x1c /* RW: vector the timer raises */
#define PCI_TESTDEV_TIMER_FIRED  0x20 /* RO: times the timer has fired (raised its vector) */
#define PCI_TESTDEV_RAISED       0x24 /* RO: interrupts delivered to KVM (not masked, routed) */
#define PCI_TESTDEV_DROPPED      0x28 /* RO: raises with no valid MSI address (not delivered) */
#define PCI_TESTDEV_ERROR        0x2c /* RW1C: bit 0 bad vector number */
/*
 * Interrupt latency measurement: the host's TSC (which guests on the
 * project's machines see unchanged) read by the device model immediately
 * before its most recent raise -- RAISE write or timer expiry -- went to the
 * MSI-X function (and from there to KVM's irqfd). 0 before the first raise.
 * Read LO then HI while no raise is in flight (e.g. after its interrupt).
 */
#define PCI_TESTDEV_RAISE_TSC_LO 0x30 /* RO: low 32 bits */
#define PCI_TESTDEV_RAISE_TSC_HI 0x34 /* RO: high 32 bits */
/*
 * RW: 0 (reset value): the timer is one-shot. N > 0: after its first expiry
 * the timer fires every N us until TIMER_US is written 0; expiries the event
 * thread could not keep up with collapse into one raise. Read when TIMER_US
 * is written: write TIMER_PERIOD_US first.
 */
#define PCI_TESTDEV_TIMER_PERIOD_US 0x38
#define PCI_TESTDEV_REGS_SIZE    0x1000

/* BAR4 (I/O) registers, 32-bit accesses. */
#define PCI_TESTDEV_IO_ECHO         0x00
#define PCI_TESTDEV_IO_WRITE_COUNT  0x04
#define PCI_TESTDEV_IO_SIZE         0x20

#endif
