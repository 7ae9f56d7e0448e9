// SPDX-License-Identifier: MIT
/*
 * fdt: the device tree the VMM builds matches configs/fdt.toml. The
 * expected values below must be kept equal to that file.
 */
#include "fw/test.h"

const char *test_image_name = "fdt";

/* configs/fdt.toml */
#define EXPECT_MEMORY   (96ull << 20)
#define EXPECT_CPUS     2
#define EXPECT_CMDLINE  "fdt-test console=ttyS0 answer=42"
#define EXPECT_UART     0x3f8
#define EXPECT_EXIT     0xf4

/* ~2 s at 2.6 GHz; long enough for a secondary vCPU to start. */
#define CPU_ONLINE_TIMEOUT_TSC 5000000000ull

TEST(header_valid)
{
	const void *fdt = fw_fdt();

	REQUIRE(fdt != NULL, "no valid DTB (rdi=0x%llx, libfdt error %d)",
		(unsigned long long)fw_boot.dtb_gpa, fw_boot.fdt_error);
	CHECK_EQ(fdt_check_header(fdt), 0);
	CHECK_EQ(fdt_magic(fdt), FDT_MAGIC);
	if (fw_boot.info_valid) {
		CHECK_EQ(fw_boot.info->dtb_gpa, fw_boot.dtb_gpa);
		CHECK(fw_boot.info->dtb_size >= fdt_totalsize(fdt),
		      "boot_info dtb_size %llu < fdt_totalsize %u",
		      (unsigned long long)fw_boot.info->dtb_size, fdt_totalsize(fdt));
	}
}

TEST(boot_info)
{
	const struct boot_info *bi = fw_boot.info;

	REQUIRE(fw_boot.info_valid, "boot_info magic/version wrong");
	CHECK(bi->size >= sizeof(*bi), "boot_info size %u < %zu", bi->size, sizeof(*bi));
	CHECK_EQ(bi->cpu_count, EXPECT_CPUS);
	CHECK_EQ(bi->ram_size, EXPECT_MEMORY);
}

TEST(root_node)
{
	const void *fdt = fw_fdt();

	REQUIRE(fdt, "no DTB");
	CHECK(fdt_node_check_compatible(fdt, 0, "vmm,selftest-x86") == 0,
	      "root is not compatible with vmm,selftest-x86");
	CHECK_EQ(fw_fdt_address_cells(0), 2);
	CHECK_EQ(fw_fdt_size_cells(0), 2);
}

TEST(memory_size)
{
	REQUIRE(fw_fdt(), "no DTB");
	CHECK_EQ(fw_fdt_memory_size(), EXPECT_MEMORY);
}

TEST(memory_starts_at_zero)
{
	const void *fdt = fw_fdt();
	struct fw_fdt_reg reg;
	int node;

	REQUIRE(fdt, "no DTB");
	node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", 7);
	REQUIRE(node >= 0, "no memory node: %s", fdt_strerror(node));
	REQUIRE(fw_fdt_read_reg(node, 0, &reg) == 0, "memory node has no reg");
	CHECK_EQ(reg.addr, 0);
	CHECK_EQ(reg.size, EXPECT_MEMORY);
}

TEST(cpu_count)
{
	uint32_t ids[FW_MAX_CPUS];
	int n = fw_fdt_cpus(ids, FW_MAX_CPUS);

	REQUIRE(fw_fdt(), "no DTB");
	REQUIRE(n == EXPECT_CPUS, "%d cpu nodes, expected %d", n, EXPECT_CPUS);
	for (int i = 0; i < n; i++)
		CHECK(ids[i] == (uint32_t)i, "cpu %d has APIC id %u, expected %d", i, ids[i], i);
}

TEST(secondary_cpus_report_in)
{
	bool all = fw_wait_cpus_online(EXPECT_CPUS, CPU_ONLINE_TIMEOUT_TSC);

	CHECK(all, "only %u of %d CPUs reported in", fw_cpus_online(), EXPECT_CPUS);
	for (unsigned int i = 0; i < EXPECT_CPUS; i++)
		CHECK(fw_percpu[i].cpu == i, "CPU %u reported index %u", i, fw_percpu[i].cpu);
}

TEST(bootargs)
{
	const char *args = fw_fdt_bootargs();
	const char *answer;

	REQUIRE(fw_fdt(), "no DTB");
	if (!CHECK_STREQ(args, EXPECT_CMDLINE))
		return;
	answer = strstr(args, "answer=");
	REQUIRE(answer, "no answer= in bootargs");
	CHECK_EQ(strtoul(answer + 7, NULL, 0), 42);
}

TEST(serial_device)
{
	const void *fdt = fw_fdt();
	int node, stdout_node;
	uint16_t port = 0;
	uint32_t size = 0;

	REQUIRE(fdt, "no DTB");
	node = fw_fdt_find_compatible(-1, "ns16550a");
	REQUIRE(node >= 0, "no ns16550a node");
	CHECK(fw_fdt_find_compatible(node, "ns16550a") < 0, "more than one ns16550a node");
	REQUIRE(fw_fdt_io_port(node, &port, &size) == 0, "serial reg is not an ISA I/O range");
	CHECK_EQ(port, EXPECT_UART);
	CHECK_EQ(size, 8);
	CHECK(fdt_node_check_compatible(fdt, fdt_parent_offset(fdt, node), "isa") == 0,
	      "serial node's parent is not an isa bus");
	CHECK_EQ(fw_fdt_u32(node, "clock-frequency", 0), 1843200);
	stdout_node = fw_fdt_stdout_node();
	CHECK(stdout_node == node, "/chosen stdout-path does not name the ns16550a node (%d vs %d)",
	      stdout_node, node);
	CHECK_EQ(fw_boot.console_port, EXPECT_UART);
}

TEST(exit_device)
{
	int node;
	uint16_t port = 0;
	uint32_t size = 0;

	REQUIRE(fw_fdt(), "no DTB");
	node = fw_fdt_find_compatible(-1, "vmm,debug-exit");
	REQUIRE(node >= 0, "no vmm,debug-exit node");
	REQUIRE(fw_fdt_io_port(node, &port, &size) == 0, "exit reg is not an ISA I/O range");
	CHECK_EQ(port, EXPECT_EXIT);
	CHECK_EQ(size, 1);
	CHECK_EQ(fw_exit_port, EXPECT_EXIT);
}

TEST(unit_addresses_follow_isa_binding)
{
	const void *fdt = fw_fdt();
	int isa, node;

	REQUIRE(fdt, "no DTB");
	isa = fw_fdt_find_compatible(-1, "isa");
	REQUIRE(isa >= 0, "no isa node");
	fdt_for_each_subnode(node, fdt, isa) {
		const char *name = fdt_get_name(fdt, node, NULL);
		const char *at = name ? strchr(name, '@') : NULL;
		struct fw_fdt_reg reg;
		char want[24];

		if (!at || fw_fdt_read_reg(node, 0, &reg))
			continue;
		snprintf(want, sizeof(want), "%s%x", (reg.cells[0] & 1) ? "i" : "",
			 reg.cells[1]);
		CHECK(!strcmp(at + 1, want), "node %s: unit address should be @%s", name, want);
	}
}
