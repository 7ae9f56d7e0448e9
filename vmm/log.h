/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr. The log level is the only process-wide mutable state
 * the VMM has: it is set once from the CLI/config before any VM runs.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *level);

__attribute__((format(printf, 2, 3)))
void log_message(enum log_level level, const char *fmt, ...);

#define log_error(...) log_message(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_message(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_message(LOG_INFO, __VA_ARGS__)
/* Debug messages sit on exit paths: test the level before formatting. */
#define log_debug(...) \
	do { \
		if (log_get_level() >= LOG_DEBUG) \
			log_message(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
