// SPDX-License-Identifier: MIT
/*
 * Guest image `virtio-bench`: only the throughput runs of the `virtio`
 * test (guest-tests/virtio/perf.c), for scripts/bench-virtio.sh with
 * tests/virtio/bench-{kick,poll}.toml on a disk of random data. The
 * sources are shared, not copied.
 */
#include "../virtio/common.c"
#include "../virtio/perf.c"

const char *test_image_name = "virtio-bench";
