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

/*
 * Accesses of an exact size at any address, aligned or not: what hostile
 * tests need to probe a device with every access shape (the asm keeps the
 * compiler from splitting, merging or widening them). size 8 or anything
 * else is a quadword.
 */
static inline uint64_t mmio_read_sized(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	switch (size) {
	case 1:
		__asm__ volatile("movzbq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
		break;
	case 2:
		__asm__ volatile("movzwq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
		break;
	case 4:
		__asm__ volatile("movl (%1), %k0" : "=r"(v) : "r"(addr) : "memory");
		break;
	default:
		__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
		break;
	}
	return v;
}

static inline void mmio_write_sized(uint64_t addr, unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		__asm__ volatile("movb %b0, (%1)" : : "r"(v), "r"(addr) : "memory");
		break;
	case 2:
		__asm__ volatile("movw %w0, (%1)" : : "r"(v), "r"(addr) : "memory");
		break;
	case 4:
		__asm__ volatile("movl %k0, (%1)" : : "r"(v), "r"(addr) : "memory");
		break;
	default:
		__asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory");
		break;
	}
}

/* All-ones of an access size: what a read nobody answers returns. */
static inline uint64_t mmio_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* One 64-byte direct store (DSA portals; the VMM completes it when trapped). */
static inline void movdir64b(uint64_t dst, const void *src)
{
	__asm__ volatile("movdir64b (%1), %0" : : "r"(dst), "r"(src) : "memory");
}

#endif
