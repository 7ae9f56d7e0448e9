// SPDX-License-Identifier: MIT
/*
 * fail: one test passes, one fails a CHECK on purpose. The image must exit
 * with value 1 (process status 3); configs/fail.toml declares it must fail,
 * so the runner reports it ok only for that reason.
 */
#include "fw/test.h"

const char *test_image_name = "fail";

TEST(passes)
{
	CHECK(1 + 1 == 2, "arithmetic is broken");
}

TEST(fails_on_purpose)
{
	int answer = 41;

	CHECK(answer == 42, "deliberate failure: answer is %d", answer);
	CHECK(answer == 41, "this one holds");
}
