/* SPDX-License-Identifier: MIT */
/*
 * INTx of a passed-through function, on the user-space IOAPIC.
 *
 * vfio-pci's INTx is level-triggered and AUTOMASKED: the host masks the
 * line when it fires and unmasks it when told to. With an in-kernel
 * IOAPIC, KVM's resample irqfd does this. This VM uses the split irqchip
 * (the IOAPIC is devices/ioapic.c), where KVM has no resampler, so the same
 * cycle is done in user space:
 *
 *   device asserts -> host masks, signals the trigger eventfd -> the event
 *   loop asserts the IOAPIC pin -> guest handles it, EOIs -> the IOAPIC's
 *   EOI notifier deasserts the pin and signals the UNMASK eventfd -> the
 *   host unmasks; a device still asserting fires again.
 *
 * COMMAND.INTX_DISABLE holds a pending interrupt off the pin until it is
 * cleared. A pin the guest programs edge-triggered gets no EOI, so the
 * line is pulsed and unmasked at once.
 *
 * The guest learns the pin from INTERRUPT_LINE, made read-only and set to
 * the IOAPIC pin (the VMM plays firmware, as a BIOS routing INTx would).
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/ioapic.h"
#include "devices/vfio/pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static void signal_unmask(struct vfio_pci_intx *intx)
{
	uint64_t one = 1;

	if (write(intx->unmask_fd, &one, sizeof(one)) != sizeof(one))
		log_debug("vfio-pci INTx: unmask eventfd: %s", strerror(errno));
}

static bool intx_disabled(struct vfio_pci *pci)
{
	return pci_function_command(&pci->fn) & PCI_COMMAND_INTX_DISABLE;
}

/* Event thread: the device raised INTx (and the host masked it). */
void vfio_pci_intx_service(struct vfio_pci *pci)
{
	struct vfio_pci_intx *intx = &pci->intx;
	uint64_t count;

	if (read(intx->trigger_fd, &count, sizeof(count)) != sizeof(count) || !count ||
	    !intx->host_enabled)
		return; /* MSI-X took over since the device signalled */
	if (!ioapic_pin_is_level(pci->vm->ioapic, (unsigned)intx->pin)) {
		ioapic_set_level(pci->vm->ioapic, (unsigned)intx->pin, true);
		ioapic_set_level(pci->vm->ioapic, (unsigned)intx->pin, false);
		signal_unmask(intx);
		return;
	}
	atomic_store(&intx->pending, true);
	if (!intx_disabled(pci)) {
		atomic_store(&intx->asserted, true);
		ioapic_set_level(pci->vm->ioapic, (unsigned)intx->pin, true);
	}
}

static void on_trigger(void *opaque, uint32_t events)
{
	vfio_pci_intx_service(opaque);
}

/* vCPU thread, IOAPIC lock held: the guest EOI'd our pin. Returns the new level. */
static bool on_eoi(void *opaque)
{
	struct vfio_pci *pci = opaque;
	struct vfio_pci_intx *intx = &pci->intx;

	if (atomic_exchange(&intx->pending, false)) {
		atomic_store(&intx->asserted, false);
		signal_unmask(intx);
	}
	return false;
}

void vfio_pci_intx_command(struct vfio_pci *pci, uint16_t command)
{
	struct vfio_pci_intx *intx = &pci->intx;

	if (intx->pin < 0 || !intx->host_enabled)
		return;
	bool disabled = command & PCI_COMMAND_INTX_DISABLE;

	if (disabled && atomic_exchange(&intx->asserted, false))
		ioapic_set_level(pci->vm->ioapic, (unsigned)intx->pin, false);
	else if (!disabled && atomic_load(&intx->pending) && !atomic_exchange(&intx->asserted, true))
		ioapic_set_level(pci->vm->ioapic, (unsigned)intx->pin, true);
}

/* SET_IRQS for the trigger and the resampling unmask eventfd (logged by the core). */
static int host_enable(struct vfio_pci *pci)
{
	struct vfio_pci_intx *intx = &pci->intx;
	int rc;

	if ((rc = pci->io->set_eventfds(pci->io_opaque, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
					&intx->trigger_fd)) ||
	    (rc = pci->io->set_unmask_eventfd(pci->io_opaque, VFIO_PCI_INTX_IRQ_INDEX,
					      intx->unmask_fd)))
		return rc;
	intx->host_enabled = true;
	return 0;
}

void vfio_pci_intx_host(struct vfio_pci *pci, bool on)
{
	struct vfio_pci_intx *intx = &pci->intx;
	uint64_t stale;

	/* Not before init finished, nor after free began (loop_added is cleared first). */
	if (intx->pin < 0 || !intx->loop_added || on == intx->host_enabled)
		return;
	if (on) {
		host_enable(pci);
		return;
	}
	pci->io->disable(pci->io_opaque, VFIO_PCI_INTX_IRQ_INDEX);
	intx->host_enabled = false;
	/* An interrupt of the old mode must not hold the pin up into the new one. */
	if (read(intx->trigger_fd, &stale, sizeof(stale)) < 0 && errno != EAGAIN)
		log_debug("vfio-pci '%s' INTx: drain: %s", pci->name, strerror(errno));
	atomic_store(&intx->pending, false);
	if (atomic_exchange(&intx->asserted, false))
		ioapic_set_level(pci->vm->ioapic, (unsigned)intx->pin, false);
}

int vfio_pci_intx_init(struct vfio_pci *pci, struct vm *vm)
{
	struct vfio_pci_intx *intx = &pci->intx;
	uint8_t device_pin = pci->raw[PCI_INTERRUPT_PIN];
	int rc;

	if (intx->pin < 0)
		return 0;
	if (!vm->ioapic) {
		log_error("vfio-pci '%s': intx_pin needs an IOAPIC: add a device with type = "
			  "\"ioapic\" before it", pci->name);
		return -ENODEV;
	}
	if (!device_pin || device_pin > 4 || !pci->dev.irqs[VFIO_PCI_INTX_IRQ_INDEX].count) {
		log_error("vfio-pci '%s': intx_pin = %d but the device has no INTx (interrupt pin "
			  "%u, %u VFIO INTx vectors); remove intx_pin", pci->name, intx->pin,
			  device_pin, pci->dev.irqs[VFIO_PCI_INTX_IRQ_INDEX].count);
		return -ENODEV;
	}
	intx->trigger_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	intx->unmask_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (intx->trigger_fd < 0 || intx->unmask_fd < 0)
		return -errno;
	if ((rc = ioapic_set_eoi_notifier(vm->ioapic, (unsigned)intx->pin, on_eoi, pci))) {
		log_error("vfio-pci '%s': IOAPIC pin %d already has a resampling source", pci->name,
			  intx->pin);
		return rc;
	}
	intx->notifier_set = true;
	if ((rc = loop_add_fd(&vm->loop, intx->trigger_fd, EPOLLIN, on_trigger, pci)))
		return rc;
	intx->loop_added = true;
	if ((rc = host_enable(pci)))
		return rc;
	pci->fn.config[PCI_INTERRUPT_PIN] = device_pin;
	pci->fn.config[PCI_INTERRUPT_LINE] = (uint8_t)intx->pin;
	pci->fn.wmask[PCI_INTERRUPT_LINE] = 0; /* the routing, not scratch: see above */
	return 0;
}

void vfio_pci_intx_free(struct vfio_pci *pci)
{
	struct vfio_pci_intx *intx = &pci->intx;

	if (intx->host_enabled && pci->dev_open)
		pci->io->disable(pci->io_opaque, VFIO_PCI_INTX_IRQ_INDEX);
	intx->host_enabled = false;
	if (intx->loop_added)
		loop_remove_fd(&pci->vm->loop, intx->trigger_fd);
	intx->loop_added = false;
	if (intx->notifier_set)
		ioapic_set_eoi_notifier(pci->vm->ioapic, (unsigned)intx->pin, NULL, NULL);
	intx->notifier_set = false;
	if (intx->trigger_fd >= 0)
		close(intx->trigger_fd);
	if (intx->unmask_fd >= 0)
		close(intx->unmask_fd);
	intx->trigger_fd = intx->unmask_fd = -1;
}
