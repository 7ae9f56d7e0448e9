// SPDX-License-Identifier: MIT
/* Guest test `virtio`: virtio-console output (the config expects the lines). */
#include "vt.h"

static struct fw_vcon con;

TEST(console_output)
{
	static const char line[] = "virtio-console: hello from the guest\n";
	static const char emerg[] = "virtio-console: emergency write\n";

	if (fw_vcon_open(&con, 0))
		SKIP("no virtio-console");
	CHECK(con.dev.features & FW_VIRTIO_F(FW_VIRTIO_CONSOLE_F_EMERG_WRITE),
	      "EMERG_WRITE not offered");
	CHECK_EQ(fw_vcon_write(&con, line, sizeof(line) - 1), sizeof(line) - 1);
	/* Many small writes in a row, each a chain of its own. */
	for (int i = 0; i < 3; i++) {
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "virtio-console: line %d of 3\n", i + 1);

		CHECK_EQ(fw_vcon_write(&con, buf, (size_t)n), n);
	}
	for (const char *p = emerg; *p; p++)
		fw_vcon_emerg_write(&con, *p);
	CHECK_EQ(fw_virtio_status(&con.dev) & FW_VIRTIO_S_NEEDS_RESET, 0);
}
