/* SPDX-License-Identifier: MIT */
/*
 * MSI-X capability, table and PBA (semantics and concurrency in msix.h).
 */
#include "devices/pci/msix.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

const struct pci_irq_ops pci_irq_kvm_ops = {
	.init = irq_msi_init,
	.program = irq_msi_program,
	.trigger = irq_msi_trigger,
	.destroy = irq_msi_destroy,
};

enum msix_entry_word { ENTRY_ADDRESS_LO, ENTRY_ADDRESS_HI, ENTRY_DATA, ENTRY_CONTROL };

static uint32_t table_bytes(const struct pci_msix *msix)
{
	return msix->vectors * PCI_MSIX_ENTRY_SIZE;
}

static uint32_t pba_bytes(const struct pci_msix *msix)
{
	return (msix->vectors + 63) / 64 * 8;
}

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a < b + b_size && b < a + a_size;
}

static int msix_check_layout(const struct pci_function *fn, const struct pci_msix *msix)
{
	const struct pci_bar *bar = msix->bar < PCI_BAR_COUNT ? &fn->bars[msix->bar] : NULL;
	uint64_t table = msix->table_offset, pba = msix->pba_offset;

	if (fn->msix || msix->vectors < 1 || msix->vectors > PCI_MSIX_MAX_VECTORS || !bar ||
	    (bar->type != PCI_BAR_MEM32 && bar->type != PCI_BAR_MEM64) || table % 8 || pba % 8 ||
	    table + table_bytes(msix) > bar->size || pba + pba_bytes(msix) > bar->size ||
	    ranges_overlap(table, table_bytes(msix), pba, pba_bytes(msix))) {
		log_error("%s: invalid MSI-X layout: %u vectors, BAR%u, table 0x%x, PBA 0x%x",
			  fn->name, msix->vectors, msix->bar, msix->table_offset, msix->pba_offset);
		return -EINVAL;
	}
	return 0;
}

static void msix_release_vectors(struct pci_msix *msix)
{
	for (unsigned i = 0; i < msix->msi_initialised; i++)
		msix->ops->destroy(&msix->msi[i]);
	msix->msi_initialised = 0;
}

static void msix_free(struct pci_msix *msix)
{
	msix_release_vectors(msix);
	free(msix->table);
	free(msix->pending);
	free(msix->msi);
	free(msix->route_stale);
	free(msix);
}

static int msix_alloc(struct pci_msix *msix, struct vm *vm)
{
	msix->table = calloc(msix->vectors, sizeof(*msix->table));
	msix->pending = calloc(pba_bytes(msix) / 8, sizeof(*msix->pending));
	msix->msi = calloc(msix->vectors, sizeof(*msix->msi));
	msix->route_stale = calloc(msix->vectors, sizeof(*msix->route_stale));
	if (!msix->table || !msix->pending || !msix->msi || !msix->route_stale)
		return -ENOMEM;
	for (unsigned i = 0; i < msix->vectors; i++) {
		atomic_init(&msix->table[i].control, PCI_MSIX_ENTRY_CTRL_MASKBIT);
		msix->route_stale[i] = true;
		int rc = msix->ops->init(vm, &msix->msi[i]);

		if (rc)
			return rc;
		msix->msi_initialised = i + 1;
	}
	return 0;
}

static void msix_fill_capability(struct pci_function *fn, struct pci_msix *msix)
{
	uint8_t *cap = &fn->config[msix->cap];
	uint32_t table = msix->table_offset | msix->bar, pba = msix->pba_offset | msix->bar;

	cap[PCI_MSIX_FLAGS] = (uint8_t)(msix->vectors - 1);
	cap[PCI_MSIX_FLAGS + 1] = (uint8_t)((msix->vectors - 1) >> 8);
	for (unsigned i = 0; i < 4; i++) {
		cap[PCI_MSIX_TABLE + i] = (uint8_t)(table >> (8 * i));
		cap[PCI_MSIX_PBA + i] = (uint8_t)(pba >> (8 * i));
	}
	/* Only Enable and Function Mask are writable. */
	fn->wmask[msix->cap + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
}

int pci_msix_init(struct pci_function *fn, struct vm *vm, const struct pci_irq_ops *ops,
		  unsigned vectors, unsigned bar, uint32_t table_offset, uint32_t pba_offset)
{
	struct pci_msix *msix = calloc(1, sizeof(*msix));

	if (!msix)
		return -ENOMEM;
	*msix = (struct pci_msix){
		.ops = ops ? ops : &pci_irq_kvm_ops, .vectors = vectors, .bar = bar,
		.table_offset = table_offset, .pba_offset = pba_offset,
	};
	int rc = msix_check_layout(fn, msix);

	if (!rc)
		rc = msix_alloc(msix, vm);
	if (!rc) {
		int cap = pci_function_add_capability(fn, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LENGTH);

		rc = cap < 0 ? cap : 0;
		msix->cap = (uint8_t)(cap < 0 ? 0 : cap);
	}
	if (rc) {
		if (rc != -EINVAL) /* the layout check said why already */
			log_error("%s: MSI-X with %u vectors: %s", fn->name, vectors,
				  strerror(-rc));
		msix_free(msix);
		return rc;
	}
	msix_fill_capability(fn, msix);
	fn->msix = msix;
	return 0;
}

void pci_msix_release(struct pci_function *fn)
{
	if (fn->msix)
		msix_release_vectors(fn->msix);
}

void pci_msix_destroy(struct pci_function *fn)
{
	if (!fn->msix)
		return;
	msix_free(fn->msix);
	fn->msix = NULL;
}

static bool function_masked(struct pci_msix *msix)
{
	uint_least16_t control = atomic_load(&msix->control);

	return !(control & PCI_MSIX_FLAGS_ENABLE) || (control & PCI_MSIX_FLAGS_MASKALL);
}

static bool vector_masked(struct pci_msix *msix, unsigned vector)
{
	return atomic_load(&msix->table[vector].control) & PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

static bool vector_deliverable(struct pci_msix *msix, unsigned vector)
{
	return !function_masked(msix) && !vector_masked(msix, vector);
}

static uint64_t pending_bit(unsigned vector)
{
	return 1ull << (vector % 64);
}

/* Send the pending message of vector, if nobody else has claimed it. */
static void claim_and_send(struct pci_msix *msix, unsigned vector)
{
	uint64_t bit = pending_bit(vector);

	if (atomic_fetch_and(&msix->pending[vector / 64], ~bit) & bit)
		msix->ops->trigger(&msix->msi[vector]);
}

int pci_msix_raise(struct pci_function *fn, unsigned vector)
{
	struct pci_msix *msix = fn->msix;

	if (!msix || vector >= msix->vectors)
		return -EINVAL;
	if (vector_deliverable(msix, vector)) {
		msix->ops->trigger(&msix->msi[vector]);
		return 0;
	}
	atomic_fetch_or(&msix->pending[vector / 64], pending_bit(vector));
	/* An unmask may have happened since the check: it may have missed our bit. */
	if (vector_deliverable(msix, vector))
		claim_and_send(msix, vector);
	return 0;
}

/* fn->lock held: push the entry's address/data to the vector's route. */
static void program_route(struct pci_function *fn, unsigned vector)
{
	struct pci_msix *msix = fn->msix;
	const struct pci_msix_entry *entry = &msix->table[vector];
	uint64_t address = (uint64_t)atomic_load(&entry->address_hi) << 32 |
			   atomic_load(&entry->address_lo);
	int rc = msix->ops->program(&msix->msi[vector], address, atomic_load(&entry->data));

	msix->route_stale[vector] = rc != 0; /* retried at the next unmask */
	if (rc)
		log_warn("%s: MSI-X vector %u: routing address 0x%llx failed: %d", fn->name,
			 vector, (unsigned long long)address, rc);
}

static void program_if_stale(struct pci_function *fn, unsigned vector)
{
	if (fn->msix->route_stale[vector])
		program_route(fn, vector);
}

void pci_msix_control_written(struct pci_function *fn)
{
	struct pci_msix *msix = fn->msix;
	const uint8_t *cap = &fn->config[msix->cap];
	uint16_t control = (uint16_t)(cap[PCI_MSIX_FLAGS] | cap[PCI_MSIX_FLAGS + 1] << 8);
	bool unmasking = (control & PCI_MSIX_FLAGS_ENABLE) && !(control & PCI_MSIX_FLAGS_MASKALL);

	/* Routes first, so a raise that sees the new state uses the new route. */
	for (unsigned v = 0; unmasking && v < msix->vectors; v++) {
		if (!vector_masked(msix, v))
			program_if_stale(fn, v);
	}
	atomic_store(&msix->control, control);
	for (unsigned v = 0; unmasking && v < msix->vectors; v++) {
		if (!vector_masked(msix, v))
			claim_and_send(msix, v);
	}
}

void pci_msix_reset(struct pci_function *fn)
{
	struct pci_msix *msix = fn->msix;

	atomic_store(&msix->control, 0);
	for (unsigned v = 0; v < msix->vectors; v++) {
		atomic_store(&msix->table[v].address_lo, 0);
		atomic_store(&msix->table[v].address_hi, 0);
		atomic_store(&msix->table[v].data, 0);
		atomic_store(&msix->table[v].control, PCI_MSIX_ENTRY_CTRL_MASKBIT);
		if (msix->msi[v].routed)
			msix->ops->program(&msix->msi[v], 0, 0); /* drops the route */
		msix->route_stale[v] = true;
	}
	for (unsigned i = 0; i < pba_bytes(msix) / 8; i++)
		atomic_store(&msix->pending[i], 0);
}

/* Which part of the BAR an access touches. */
enum msix_area { MSIX_NONE, MSIX_TABLE, MSIX_PBA };

static enum msix_area msix_area(const struct pci_msix *msix, uint64_t offset, unsigned size,
				uint64_t *relative)
{
	if (ranges_overlap(offset, size, msix->table_offset, table_bytes(msix))) {
		*relative = offset - msix->table_offset;
		return MSIX_TABLE;
	}
	if (ranges_overlap(offset, size, msix->pba_offset, pba_bytes(msix))) {
		*relative = offset - msix->pba_offset;
		return MSIX_PBA;
	}
	return MSIX_NONE;
}

/*
 * Aligned dword or qword wholly inside the area (an aligned access that
 * starts inside it cannot end outside: sizes are multiples of 8).
 */
static bool msix_access_valid(uint64_t offset, uint64_t relative, unsigned size)
{
	return (size == 4 || size == 8) && offset % size == 0 && relative % size == 0 &&
	       relative < (1ull << 32);
}

static atomic_uint_least32_t *table_word(struct pci_msix *msix, uint64_t relative)
{
	struct pci_msix_entry *entry = &msix->table[relative / PCI_MSIX_ENTRY_SIZE];

	switch ((enum msix_entry_word)(relative % PCI_MSIX_ENTRY_SIZE / 4)) {
	case ENTRY_ADDRESS_LO:
		return &entry->address_lo;
	case ENTRY_ADDRESS_HI:
		return &entry->address_hi;
	case ENTRY_DATA:
		return &entry->data;
	case ENTRY_CONTROL:
		break;
	}
	return &entry->control;
}

static uint64_t pba_read(struct pci_msix *msix, uint64_t relative, unsigned size)
{
	uint64_t qword = atomic_load(&msix->pending[relative / 8]);

	if (size == 8)
		return qword;
	return (uint32_t)(qword >> (relative % 8 * 8));
}

bool pci_msix_mmio_read(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size,
			uint64_t *value)
{
	struct pci_msix *msix = fn->msix;
	uint64_t relative;

	if (!msix || bar != msix->bar)
		return false;
	enum msix_area area = msix_area(msix, offset, size, &relative);

	if (area == MSIX_NONE)
		return false;
	if (!msix_access_valid(offset, relative, size)) {
		*value = pci_all_ones(size);
		return true;
	}
	if (area == MSIX_PBA) {
		*value = pba_read(msix, relative, size);
		return true;
	}
	*value = atomic_load(table_word(msix, relative));
	if (size == 8)
		*value |= (uint64_t)atomic_load(table_word(msix, relative + 4)) << 32;
	return true;
}

/* fn->lock held. Masking is immediate; unmasking programs the route first. */
static void write_vector_control(struct pci_function *fn, unsigned vector, uint32_t value)
{
	struct pci_msix *msix = fn->msix;
	uint32_t control = value & PCI_MSIX_ENTRY_CTRL_MASKBIT; /* other bits reserved */

	if (!control && !function_masked(msix))
		program_if_stale(fn, vector);
	atomic_store(&msix->table[vector].control, control);
	if (!control && !function_masked(msix))
		claim_and_send(msix, vector);
}

/* fn->lock held. */
static void write_table_dword(struct pci_function *fn, uint64_t relative, uint32_t value)
{
	struct pci_msix *msix = fn->msix;
	unsigned vector = (unsigned)(relative / PCI_MSIX_ENTRY_SIZE);

	if (relative % PCI_MSIX_ENTRY_SIZE / 4 == ENTRY_CONTROL) {
		write_vector_control(fn, vector, value);
		return;
	}
	atomic_store(table_word(msix, relative), value);
	msix->route_stale[vector] = true;
	/* Rewriting a live vector is undefined by the spec; apply it at once. */
	if (vector_deliverable(msix, vector))
		program_route(fn, vector);
}

bool pci_msix_mmio_write(struct pci_function *fn, unsigned bar, uint64_t offset, unsigned size,
			 uint64_t value)
{
	struct pci_msix *msix = fn->msix;
	uint64_t relative;

	if (!msix || bar != msix->bar)
		return false;
	enum msix_area area = msix_area(msix, offset, size, &relative);

	if (area == MSIX_NONE)
		return false;
	if (area == MSIX_PBA || !msix_access_valid(offset, relative, size))
		return true; /* PBA is read-only; bad accesses are dropped */
	pthread_mutex_lock(&fn->lock);
	write_table_dword(fn, relative, (uint32_t)value);
	if (size == 8)
		write_table_dword(fn, relative + 4, (uint32_t)(value >> 32));
	pthread_mutex_unlock(&fn->lock);
	return true;
}

bool pci_msix_pending(const struct pci_function *fn, unsigned vector)
{
	if (!fn->msix || vector >= fn->msix->vectors)
		return false;
	return atomic_load(&fn->msix->pending[vector / 64]) & pending_bit(vector);
}

void pci_msix_counters(const struct pci_function *fn, uint64_t *raised, uint64_t *dropped)
{
	*raised = *dropped = 0;
	for (unsigned v = 0; fn->msix && v < fn->msix->vectors; v++) {
		*raised += atomic_load(&fn->msix->msi[v].raised);
		*dropped += atomic_load(&fn->msix->msi[v].dropped);
	}
}
