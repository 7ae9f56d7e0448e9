/* SPDX-License-Identifier: MIT */
/*
 * Console: the 16550 UART the DTB names (/chosen stdout-path, else the first
 * ns16550a node), port 0x3f8 without a DTB. printf() and friends are in
 * <stdio.h>.
 *
 * Cost: every port access is an exit (~16 us at CPL 3 here), so the driver
 * waits for LSR.THRE once and then writes up to 16 bytes (the FIFO depth)
 * without polling in between.
 */
#ifndef FW_CONSOLE_H
#define FW_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/* Write raw bytes (takes the console lock). */
void fw_console_write(const char *s, size_t n);

/* For composing output from several pieces without interleaving. */
void fw_console_lock(void);
void fw_console_unlock(void);
void fw_console_write_locked(const char *s, size_t n);

/* I/O base of the UART in use. */
uint16_t fw_console_port(void);

#endif
