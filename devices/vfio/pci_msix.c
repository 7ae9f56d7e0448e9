/* SPDX-License-Identifier: MIT */
/*
 * MSI-X of a passed-through function.
 *
 * The guest's table, PBA and Message Control are the emulated ones of
 * devices/pci/msix.c: each vector is a struct irq_msi, an eventfd bound by
 * KVM_IRQFD to a GSI whose route carries the guest's address/data. The
 * device's vectors are wired to them with VFIO SET_IRQS, so a device
 * interrupt is kernel -> eventfd -> KVM -> guest with no VMM thread in the
 * path.
 *
 * Masking (a vector's mask bit, the function mask, or MSI-X disabled) is
 * not something the device knows: vfio-pci owns its real table. A masked
 * vector's host trigger is switched by SET_IRQS to a second, "parking"
 * eventfd that nothing watches. Its count is the pending bit: it is read
 * (and set in the emulated PBA) when the guest reads the PBA, and when the
 * vector is unmasked, in which case the message is delivered at once, as a
 * pending MSI-X message is. Switching the trigger rather than dropping the
 * KVM route keeps the irqfd untouched and loses no interrupt: whatever the
 * device signalled before the switch is in one of the two eventfds and
 * both are looked at after it. It costs one SET_IRQS per mask change,
 * which guests do rarely (not per interrupt).
 *
 * Enabling: when the guest enables MSI-X, every vector the host offers is
 * given an eventfd in one SET_IRQS (vfio-pci's MSI-X index is NORESIZE on
 * most kernels: growing it later would need a disable/enable cycle that
 * can lose interrupts). Disabling MSI-X disables the index. vfio-pci has
 * one of INTx, MSI and MSI-X enabled at a time (EINVAL otherwise), so
 * INTx, when configured, is off on the host while MSI-X is on.
 *
 * Every function here runs with fn.lock held (config writes, table writes,
 * decode changes all take it), which serialises SET_IRQS calls.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/vfio/pci.h"
#include "vmm/log.h"

static unsigned host_vectors(const struct vfio_pci *pci)
{
	const struct vfio_pci_msix_layout *m = &pci->msix;

	return m->host_vectors < m->vectors ? m->host_vectors : m->vectors;
}

int vfio_pci_msix_init(struct vfio_pci *pci)
{
	unsigned n = host_vectors(pci);

	if (!pci->msix.present || !n)
		return 0;
	pci->vector_live = calloc(n, sizeof(*pci->vector_live));
	pci->parked = malloc(n * sizeof(*pci->parked));
	if (!pci->vector_live || !pci->parked)
		return -ENOMEM;
	for (unsigned v = 0; v < n; v++)
		pci->parked[v] = -1;
	for (unsigned v = 0; v < n; v++) {
		pci->parked[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (pci->parked[v] < 0)
			return -errno;
	}
	if (pci->msix.host_vectors < pci->msix.vectors)
		log_warn("vfio-pci '%s': the table has %u MSI-X vectors but VFIO offers %u; "
			 "vectors %u and up never fire", pci->name, pci->msix.vectors,
			 pci->msix.host_vectors, pci->msix.host_vectors);
	return 0;
}

void vfio_pci_msix_free(struct vfio_pci *pci)
{
	unsigned n = host_vectors(pci);

	for (unsigned v = 0; pci->parked && v < n; v++) {
		if (pci->parked[v] >= 0)
			close(pci->parked[v]);
	}
	free(pci->parked);
	free(pci->vector_live);
	pci->parked = NULL;
	pci->vector_live = NULL;
}

/* Whether the parked eventfd was signalled (consuming it). */
static bool drain(int fd)
{
	uint64_t count = 0;

	return read(fd, &count, sizeof(count)) == sizeof(count) && count;
}

static bool vector_wanted_live(struct pci_msix *msix, unsigned vector)
{
	uint_least16_t control = atomic_load(&msix->control);

	return (control & PCI_MSIX_FLAGS_ENABLE) && !(control & PCI_MSIX_FLAGS_MASKALL) &&
	       !(atomic_load(&msix->table[vector].control) & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static int trigger_fd(struct vfio_pci *pci, unsigned vector, bool live)
{
	return live ? pci->fn.msix->msi[vector].eventfd : pci->parked[vector];
}

void vfio_pci_msix_host_off(struct vfio_pci *pci)
{
	if (!pci->msix_host_enabled)
		return;
	int rc = pci->io->disable(pci->io_opaque, VFIO_PCI_MSIX_IRQ_INDEX);

	if (rc)
		log_warn("vfio-pci '%s': disabling MSI-X on the device: %s", pci->name,
			 strerror(-rc));
	pci->msix_host_enabled = false;
	for (unsigned v = 0; v < host_vectors(pci); v++) {
		pci->vector_live[v] = false;
		drain(pci->parked[v]); /* stale: MSI-X was off */
	}
	vfio_pci_intx_host(pci, true); /* given back (host_on took it) */
}

static void host_on(struct vfio_pci *pci, unsigned n)
{
	int fds[PCI_MSIX_MAX_VECTORS];
	bool live[PCI_MSIX_MAX_VECTORS];

	for (unsigned v = 0; v < n; v++) {
		live[v] = vector_wanted_live(pci->fn.msix, v);
		fds[v] = trigger_fd(pci, v, live[v]);
		drain(pci->parked[v]);
	}
	/* vfio-pci refuses MSI-X (EINVAL) while INTx is enabled. */
	vfio_pci_intx_host(pci, false);
	int rc = pci->io->set_eventfds(pci->io_opaque, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, fds);

	if (rc) {
		log_warn("vfio-pci '%s': enabling %u MSI-X vectors on the device failed (%s): "
			 "the guest gets no MSI-X interrupts", pci->name, n, strerror(-rc));
		vfio_pci_intx_host(pci, true);
		return;
	}
	memcpy(pci->vector_live, live, n * sizeof(live[0]));
	pci->msix_host_enabled = true;
}

void vfio_pci_msix_sync(struct vfio_pci *pci)
{
	struct pci_msix *msix = pci->fn.msix;
	unsigned n = host_vectors(pci);

	if (!msix || !pci->vector_live || !n)
		return;
	if (!(atomic_load(&msix->control) & PCI_MSIX_FLAGS_ENABLE)) {
		vfio_pci_msix_host_off(pci);
		return;
	}
	if (!pci->msix_host_enabled) {
		host_on(pci, n);
		return;
	}
	for (unsigned v = 0; v < n; v++) {
		bool live = vector_wanted_live(msix, v);
		int fd = trigger_fd(pci, v, live);

		if (live == pci->vector_live[v])
			continue;
		if (pci->io->set_eventfds(pci->io_opaque, VFIO_PCI_MSIX_IRQ_INDEX, v, 1, &fd))
			continue; /* logged by the core; retried at the next change */
		pci->vector_live[v] = live;
		/* Signalled while parked: it was pending; now it is delivered. */
		if (live && drain(pci->parked[v]))
			pci_msix_raise(&pci->fn, v);
	}
}

void vfio_pci_msix_collect(struct vfio_pci *pci)
{
	unsigned n = host_vectors(pci);

	if (!pci->fn.msix || !pci->vector_live)
		return;
	pthread_mutex_lock(&pci->fn.lock);
	for (unsigned v = 0; pci->msix_host_enabled && v < n; v++) {
		/* pci_msix_raise() on a masked vector sets its pending bit. */
		if (!pci->vector_live[v] && drain(pci->parked[v]))
			pci_msix_raise(&pci->fn, v);
	}
	pthread_mutex_unlock(&pci->fn.lock);
}
