// SPDX-License-Identifier: MIT
/* 16550 UART console, polled, transmit only. */
#include <stddef.h>
#include <stdint.h>

#include "fw/console.h"
#include "fw/cpu.h"
#include "fw/io.h"
#include "internal.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_FIFO_DEPTH 16
/* Bound on LSR polls per chunk, so a UART model that never reports THRE
 * slows the console down instead of hanging the image. */
#define UART_THRE_POLLS 100000

static uint16_t con_port = 0x3f8;
static int con_crlf;
static struct fw_spinlock con_lock;

void fw_console_init(uint16_t port, int crlf)
{
	con_port = port;
	con_crlf = crlf;
	outb(port + UART_LCR, 0x03); /* 8N1, DLAB = 0 */
	outb(port + UART_IER, 0x00); /* no interrupts */
	outb(port + UART_FCR, 0x07); /* enable and clear the FIFOs */
}

uint16_t fw_console_port(void)
{
	return con_port;
}

static void uart_chunk(const char *p, size_t n)
{
	for (unsigned int i = 0; i < UART_THRE_POLLS; i++)
		if (inb(con_port + UART_LSR) & UART_LSR_THRE)
			break;
	for (size_t i = 0; i < n; i++)
		outb(con_port + UART_THR, (uint8_t)p[i]);
}

void fw_console_write_locked(const char *s, size_t n)
{
	char chunk[UART_FIFO_DEPTH];
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (con_crlf && s[i] == '\n') {
			if (used == sizeof(chunk)) {
				uart_chunk(chunk, used);
				used = 0;
			}
			chunk[used++] = '\r';
		}
		if (used == sizeof(chunk)) {
			uart_chunk(chunk, used);
			used = 0;
		}
		chunk[used++] = s[i];
	}
	if (used)
		uart_chunk(chunk, used);
}

void fw_console_lock(void)
{
	fw_spin_lock(&con_lock);
}

void fw_console_unlock(void)
{
	fw_spin_unlock(&con_lock);
}

void fw_console_force_unlock(void)
{
	fw_spin_unlock(&con_lock);
}

void fw_console_write(const char *s, size_t n)
{
	fw_console_lock();
	fw_console_write_locked(s, n);
	fw_console_unlock();
}
