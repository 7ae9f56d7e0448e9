/* SPDX-License-Identifier: MIT */
/* Port I/O. At CPL 3 this works through the TSS I/O permission bitmap; every
 * access that the VMM emulates is an exit (~16 us here). */
#ifndef FW_IO_H
#define FW_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* MMIO accessors (the compiler must not merge, split or reorder them). */
static inline void mmio_write32(volatile void *addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint32_t mmio_read32(const volatile void *addr)
{
	return *(const volatile uint32_t *)addr;
}

static inline void mmio_write64(volatile void *addr, uint64_t v)
{
	*(volatile uint64_t *)addr = v;
}

static inline uint64_t mmio_read64(const volatile void *addr)
{
	return *(const volatile uint64_t *)addr;
}

#endif
