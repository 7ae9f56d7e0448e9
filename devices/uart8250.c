/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART on I/O ports, polled (no interrupt line yet: the split
 * irqchip has no IOAPIC model). Transmit is always ready, so LSR reports
 * THRE|TEMT and a guest may write 16 bytes per LSR check; output is
 * line-buffered to stdout, stderr or a file. THR writes are coalesced by
 * KVM (vmm/coalesced.h) unless disabled: an exit per byte is ~100 us from
 * CPL 3 here. Input comes from stdin when enabled. Loopback (MCR bit 4)
 * works as Linux's 8250 probe expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/models.h"
#include "vmm/bus.h"
#include "vmm/fdt.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define UART_REGISTERS   8
#define UART_CLOCK_HZ    1843200
#define UART_BAUD        115200
#define UART_RX_SIZE     64
#define UART_TX_BUFFER   4096

enum uart_register {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define LCR_DLAB     0x80
#define MCR_LOOP     0x10
#define LSR_DR       0x01
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define IIR_NO_INT   0x01
#define IIR_FIFO     0xc0
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

enum uart_output { UART_OUT_STDOUT, UART_OUT_STDERR, UART_OUT_FILE, UART_OUT_NONE };
enum uart_input { UART_IN_AUTO, UART_IN_STDIN, UART_IN_NONE };

struct uart {
	uint64_t port;
	unsigned output_kind;
	unsigned input_kind;
	char *path;
	int out_fd;
	bool owns_out_fd;
	int in_fd;              /* -1 when input is off */
	bool coalesce;          /* queue THR writes in KVM's ring (no exit each) */
	struct vm *vm;
	unsigned tx_exits;      /* THR writes seen before coalescing starts */

	pthread_mutex_t lock;   /* vCPUs may share the UART */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t rx[UART_RX_SIZE];
	unsigned rx_head, rx_count;
	char tx[UART_TX_BUFFER];
	size_t tx_len;
};

static void uart_flush(struct uart *uart)
{
	size_t done = 0;

	while (uart->out_fd >= 0 && done < uart->tx_len) {
		ssize_t n = write(uart->out_fd, uart->tx + done, uart->tx_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* output gone (closed pipe): drop, the guest must not stall */
		done += (size_t)n;
	}
	uart->tx_len = 0;
}

static void uart_rx_push(struct uart *uart, uint8_t byte)
{
	if (uart->rx_count == UART_RX_SIZE)
		return; /* overrun: a real 16550 drops it too */
	uart->rx[(uart->rx_head + uart->rx_count++) % UART_RX_SIZE] = byte;
}

/*
 * Coalescing pays off for a chatty guest but makes KVM's VM teardown
 * ~5-10 ms slower here, so it starts only after this many THR exits.
 */
#define UART_COALESCE_AFTER 64

static void uart_maybe_coalesce(struct uart *uart)
{
	if (!uart->coalesce || ++uart->tx_exits != UART_COALESCE_AFTER)
		return;
	int rc = coalesced_add_pio(uart->vm, (uint16_t)(uart->port + UART_RBR_THR), 1);

	if (rc)
		log_debug("uart %#llx: coalesced transmit unavailable (%s); every byte exits",
			  (unsigned long long)uart->port, strerror(-rc));
}

static void uart_transmit(struct uart *uart, uint8_t byte)
{
	uart_maybe_coalesce(uart);
	if (uart->mcr & MCR_LOOP) {
		uart_rx_push(uart, byte);
		return;
	}
	if (uart->output_kind == UART_OUT_NONE)
		return;
	uart->tx[uart->tx_len++] = (char)byte;
	if (byte == '\n' || uart->tx_len == sizeof(uart->tx))
		uart_flush(uart);
}

/* Pull pending host input without blocking the vCPU. */
static void uart_poll_input(struct uart *uart)
{
	struct pollfd pfd = { .fd = uart->in_fd, .events = POLLIN };
	uint8_t buffer[UART_RX_SIZE];

	if (uart->in_fd < 0 || uart->rx_count || (uart->mcr & MCR_LOOP) || poll(&pfd, 1, 0) != 1)
		return;
	ssize_t n = read(uart->in_fd, buffer, sizeof(buffer) - uart->rx_count);

	if (n <= 0) {
		uart->in_fd = -1; /* EOF or error: stop asking */
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		uart_rx_push(uart, buffer[i]);
}

static uint8_t uart_modem_status(const struct uart *uart)
{
	if (!(uart->mcr & MCR_LOOP))
		return 0xb0; /* DCD, DSR, CTS: a peer is always there */
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((uart->mcr & 0x01) << 5) | ((uart->mcr & 0x02) << 3) |
			 ((uart->mcr & 0x04) << 4) | ((uart->mcr & 0x08) << 4));
}

static uint8_t uart_read_register(struct uart *uart, unsigned reg)
{
	switch ((enum uart_register)reg) {
	case UART_RBR_THR:
		if (uart->lcr & LCR_DLAB)
			return uart->dll;
		uart_poll_input(uart);
		if (!uart->rx_count)
			return 0;
		uint8_t byte = uart->rx[uart->rx_head];

		uart->rx_head = (uart->rx_head + 1) % UART_RX_SIZE;
		uart->rx_count--;
		return byte;
	case UART_IER:
		return uart->lcr & LCR_DLAB ? uart->dlm : uart->ier;
	case UART_IIR_FCR:
		return IIR_NO_INT | ((uart->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case UART_LCR:
		return uart->lcr;
	case UART_MCR:
		return uart->mcr;
	case UART_LSR:
		uart_poll_input(uart);
		return LSR_THRE | LSR_TEMT | (uart->rx_count ? LSR_DR : 0);
	case UART_MSR:
		return uart_modem_status(uart);
	case UART_SCR:
		return uart->scr;
	}
	return 0xff;
}

static void uart_write_register(struct uart *uart, unsigned reg, uint8_t value)
{
	switch ((enum uart_register)reg) {
	case UART_RBR_THR:
		if (uart->lcr & LCR_DLAB)
			uart->dll = value;
		else
			uart_transmit(uart, value);
		break;
	case UART_IER:
		if (uart->lcr & LCR_DLAB)
			uart->dlm = value;
		else
			uart->ier = value & 0x0f;
		break;
	case UART_IIR_FCR:
		uart->fcr = value & FCR_ENABLE;
		if (value & FCR_CLEAR_RX)
			uart->rx_count = 0;
		break;
	case UART_LCR:
		uart->lcr = value;
		break;
	case UART_MCR:
		uart->mcr = value & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only */
	case UART_SCR:
		uart->scr = value;
		break;
	}
}

/* Wider accesses touch consecutive registers, as on an 8-bit ISA bus. */
static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart *uart = opaque;
	uint64_t value = 0;

	pthread_mutex_lock(&uart->lock);
	for (unsigned i = 0; i < size; i++)
		value |= (uint64_t)uart_read_register(uart, (unsigned)offset + i) << (8 * i);
	pthread_mutex_unlock(&uart->lock);
	return value;
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart *uart = opaque;

	pthread_mutex_lock(&uart->lock);
	for (unsigned i = 0; i < size; i++)
		uart_write_register(uart, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
	pthread_mutex_unlock(&uart->lock);
}

static const struct bus_region_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

static int uart_parse(struct device *dev, const struct toml_table *section,
		      const struct config_context *ctx)
{
	static const char *const keys[] = {
		"type", "port", "output", "path", "input", "coalesce", NULL,
	};
	static const char *const outputs[] = { "stdout", "stderr", "file", "none", NULL };
	static const char *const inputs[] = { "auto", "stdin", "none", NULL };
	struct uart *uart = calloc(1, sizeof(*uart));
	int rc;

	if (!uart)
		return -ENOMEM;
	dev->state = uart;
	*uart = (struct uart){ .port = 0x3f8, .out_fd = -1, .in_fd = -1, .coalesce = true };
	pthread_mutex_init(&uart->lock, NULL);
	if ((rc = config_check_keys(ctx, section, dev->name, keys)) ||
	    (rc = config_get_u64(ctx, section, "port", 0, 0x10000 - UART_REGISTERS, &uart->port)) ||
	    (rc = config_get_choice(ctx, section, "output", outputs, &uart->output_kind)) ||
	    (rc = config_get_path(ctx, section, "path", false, &uart->path)) ||
	    (rc = config_get_choice(ctx, section, "input", inputs, &uart->input_kind)) ||
	    (rc = config_get_bool(ctx, section, "coalesce", &uart->coalesce)))
		return rc;
	if (uart->output_kind == UART_OUT_FILE && !uart->path)
		return config_fail(ctx, toml_table_get(section, "output")->pos,
				   "output = \"file\" needs a 'path' key in [devices.%s]", dev->name);
	if (uart->output_kind != UART_OUT_FILE && uart->path)
		return config_fail(ctx, toml_table_get(section, "path")->pos,
				   "'path' is only used with output = \"file\"");
	return 0;
}

static int uart_open_output(struct uart *uart)
{
	switch ((enum uart_output)uart->output_kind) {
	case UART_OUT_STDOUT:
		uart->out_fd = STDOUT_FILENO;
		return 0;
	case UART_OUT_STDERR:
		uart->out_fd = STDERR_FILENO;
		return 0;
	case UART_OUT_FILE:
		uart->out_fd = open(uart->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (uart->out_fd < 0) {
			int rc = -errno;

			log_error("serial output %s: %s", uart->path, strerror(errno));
			return rc;
		}
		uart->owns_out_fd = true;
		return 0;
	case UART_OUT_NONE:
		return 0;
	}
	return -EINVAL;
}

static int uart_realize(struct device *dev, struct vm *vm)
{
	struct uart *uart = dev->state;
	int rc = uart_open_output(uart);

	if (rc)
		return rc;
	if (uart->input_kind == UART_IN_STDIN ||
	    (uart->input_kind == UART_IN_AUTO && isatty(STDIN_FILENO)))
		uart->in_fd = STDIN_FILENO;
	uart->vm = vm;
	rc = bus_register(&vm->pio_bus, uart->port, UART_REGISTERS, &uart_ops, uart, dev->name);
	/* Only THR is ever coalesced (uart_maybe_coalesce): other registers act at once. */
	return rc;
}

static int uart_add_fdt_node(const struct device *dev, struct fdt_builder *fdt)
{
	const struct uart *uart = dev->state;
	const uint32_t reg[] = { FDT_ISA_SPACE_IO, (uint32_t)uart->port, UART_REGISTERS };
	char name[32], path[64];

	snprintf(name, sizeof(name), "serial@i%llx", (unsigned long long)uart->port);
	int node = fdt_add_node(fdt, FDT_ISA_PATH, name);

	fdt_prop_string(fdt, node, "compatible", "ns16550a");
	fdt_prop_cells(fdt, node, "reg", reg, 3);
	fdt_prop_u32(fdt, node, "clock-frequency", UART_CLOCK_HZ);
	fdt_prop_u32(fdt, node, "current-speed", UART_BAUD);
	if (uart->output_kind != UART_OUT_NONE) {
		/* Devices are added last-first, so the first UART in config wins. */
		snprintf(path, sizeof(path), FDT_ISA_PATH "/%s:%un8", name, UART_BAUD);
		fdt_prop_string(fdt, fdt_find_node(fdt, "/chosen"), "stdout-path", path);
	}
	return 0;
}

static void uart_stop(struct device *dev)
{
	struct uart *uart = dev->state;

	pthread_mutex_lock(&uart->lock);
	uart_flush(uart);
	pthread_mutex_unlock(&uart->lock);
}

static void uart_destroy(struct device *dev)
{
	struct uart *uart = dev->state;

	if (!uart)
		return;
	if (uart->owns_out_fd)
		close(uart->out_fd);
	pthread_mutex_destroy(&uart->lock);
	free(uart->path);
	free(uart);
	dev->state = NULL;
}

const struct device_model uart8250_model = {
	.type = "uart8250",
	.summary = "16550A UART on I/O ports (polled)",
	.parse = uart_parse,
	.realize = uart_realize,
	.add_fdt_node = uart_add_fdt_node,
	.stop = uart_stop,
	.destroy = uart_destroy,
};
