/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the fsl-mc command decoder and object model. The
 * input is a sequence of 64-byte records, each one command:
 *
 *   byte 0   portal index (mod 16)
 *   byte 1   command: < 64 picks a known cmd_id from the table below, 0xff
 *            resets the MC, anything else takes bytes 6-7 as a raw cmd_id
 *   byte 2   token: < 0x80 one of the open sessions, 0xff token 0, else bytes 4-5
 *   byte 3   flags_sw (INTR_DIS is bit 0)
 *   byte 4-5 raw token; byte 6-7 raw cmd_id
 *   byte 8.. the 56 parameter bytes; when byte 3 bit 7 is set, a valid type
 *            name (byte 3 bits 1-4) is written at offsets 24 and 8 and the
 *            id at offset 0 is made small, so lookups hit real objects
 *
 * After every command the tree must pass fslmc_check(), the status must be
 * an MC status (never READY), the cmd_id must survive, and the hooks may
 * only name live objects and valid IRQs. A violation traps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fslmc/fslmc.h"
#include "vmm/config/config.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static const char tree_toml[] =
	"[devices.mc]\ntype = \"fsl-mc\"\ntest_hook = true\n"
	"[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 1\n"
	"[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 2\n"
	"[[devices.mc.objects]]\ntype = \"dpio\"\nid = 1\nregions = 2\n"
	"[[devices.mc.objects]]\ntype = \"dpbp\"\nid = 1\n"
	"[[devices.mc.objects]]\ntype = \"dpni\"\nid = 1\nconnect = \"dpmac.1\"\n"
	"[[devices.mc.objects]]\ntype = \"dpmac\"\nid = 1\n"
	"[[devices.mc.objects]]\ntype = \"dprc\"\nid = 2\n"
	"[[devices.mc.objects]]\ntype = \"dpmcp\"\nid = 3\ncontainer = 2\n"
	"[[devices.mc.objects]]\ntype = \"dprc\"\nid = 3\ncontainer = 2\n"
	"[[devices.mc.objects]]\ntype = \"dpcon\"\nid = 1\ncontainer = 3\n";

static const uint16_t known_ids[] = {
	0x8001, 0x0051, 0x0052, 0x0021, 0x0031, 0x0041, 0x0061, 0x0101, 0x0111, 0x0121,
	0x0131, 0x0141, 0x0151, 0x0161, 0x0171, 0x8301, 0x8311, 0x1591, 0x15a1, 0x15e1,
	0x15e2, 0x15e3, 0x15e4, 0x15f1, 0x16c1, 0xe011, 0xe021, 0xe031, 0x8011, 0x8031,
	0x8041, 0x8051, 0x80b1, 0x80c1, 0x8081, 0xa051, 0xa0b1, 0xa041, 0x8101, 0x8111,
};

static struct fslmc mc;

static void hook_raise(void *opaque, unsigned obj, unsigned irq)
{
	CHECK(obj < FSLMC_MAX_OBJECTS && mc.objs[obj].used && irq < mc.objs[obj].irq_count);
	CHECK(mc.objs[obj].irqs[irq].enabled);
}

static void hook_released(void *opaque, unsigned obj)
{
	CHECK(obj < FSLMC_MAX_OBJECTS && mc.objs[obj].used);
}

static int hook_program(void *opaque, unsigned obj, unsigned irq, uint64_t addr, uint32_t data)
{
	CHECK(obj < FSLMC_MAX_OBJECTS && mc.objs[obj].used && irq < mc.objs[obj].irq_count);
	return (data & 0xff) == 0xee ? -28 : 0; /* sometimes "no GSI left" */
}

static const struct fslmc_config *load_config(void)
{
	static struct fslmc_config config;
	static bool loaded;
	struct config_error error;
	struct config_context ctx = { .path = "fuzz.toml", .dir = ".", .error = &error };
	struct toml_error terr;

	if (loaded)
		return &config;
	struct toml_table *root = toml_parse(tree_toml, sizeof(tree_toml) - 1, &terr);
	const struct toml_value *devices = root ? toml_table_get(root, "devices") : NULL;
	const struct toml_value *section = devices ? toml_table_get(devices->u.table, "mc") : NULL;

	CHECK(section && fslmc_config_parse(&config, "mc", section->u.table, &ctx) == 0);
	toml_table_free(root);
	loaded = true;
	return &config;
}

static uint16_t pick_token(const uint8_t *rec)
{
	unsigned live = 0, want = rec[2];

	if (want == 0xff)
		return 0;
	if (want >= 0x80)
		return (uint16_t)(rec[4] | rec[5] << 8);
	for (unsigned s = 0; s < FSLMC_MAX_SESSIONS; s++)
		live += mc.sessions[s].used;
	for (unsigned s = 0, n = 0; live && s < FSLMC_MAX_SESSIONS; s++) {
		if (mc.sessions[s].used && n++ == want % live)
			return mc.sessions[s].token;
	}
	return 0;
}

static void one_command(const uint8_t *rec)
{
	static const char *const types[] = { "dprc", "dpmcp", "dpio", "dpbp", "dpni", "dpmac",
					     "dpcon", "dpsw", "dpxx", "", "dprtc", "dpci",
					     "dpdmai", "dpseci", "dpaiop", "dpdbg" };
	struct fslmc_cmd cmd;
	uint16_t cmd_id = rec[1] < 64 ? known_ids[rec[1] % (sizeof(known_ids) / 2)]
				       : (uint16_t)(rec[6] | rec[7] << 8);

	memcpy(cmd.params, rec + 8, sizeof(cmd.params));
	if (rec[3] & 0x80) {
		const char *type = types[(rec[3] >> 1) & 0xf];

		memset(cmd.params + 24, 0, 16);
		memcpy(cmd.params + 24, type, strlen(type));
		memset(cmd.params + 8, 0, 16);
		memcpy(cmd.params + 8, type, strlen(type));
		cmd.params[0] &= 3;
		memset(cmd.params + 1, 0, 3);
	}
	cmd.header = mc_hdr_encode(cmd_id, pick_token(rec), 0, rec[3] & 1, MC_READY);
	uint8_t before[MC_PARAMS_SIZE];

	memcpy(before, cmd.params, sizeof(before));
	uint8_t status = fslmc_execute(&mc, rec[0] % FSLMC_MAX_PORTALS, &cmd);

	CHECK(status == MC_OK || (status >= MC_AUTH_ERR && status <= MC_INVALID_STATE));
	CHECK(mc_hdr_status(cmd.header) == status && mc_hdr_cmd_id(cmd.header) == cmd_id);
	CHECK(status == MC_OK || memcmp(before, cmd.params, sizeof(before)) == 0);
	CHECK(fslmc_check(&mc, NULL, 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fslmc_hooks hooks = {
		.irq_program = hook_program, .irq_raise = hook_raise, .obj_released = hook_released,
	};

	log_set_level(LOG_ERROR);
	CHECK(fslmc_init(&mc, load_config(), &hooks) == 0);
	CHECK(fslmc_check(&mc, NULL, 0) == 0);
	for (size_t off = 0; off + MC_CMD_SIZE <= size; off += MC_CMD_SIZE) {
		if (data[off + 1] == 0xff) {
			CHECK(fslmc_reset(&mc) == 0);
			CHECK(fslmc_check(&mc, NULL, 0) == 0);
			continue;
		}
		one_command(data + off);
	}
	fslmc_clear(&mc);
	return 0;
}
