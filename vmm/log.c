/* SPDX-License-Identifier: MIT */
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_level_parse(const char *name, enum log_level *level)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_message(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list args;

	if (level > current_level)
		return;
	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	/* One write per line so messages from vCPU threads do not interleave. */
	fprintf(stderr, "vmm: %s%s\n", level == LOG_ERROR ? "error: " :
		level == LOG_WARN ? "warning: " : "", line);
}
