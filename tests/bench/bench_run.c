/* SPDX-License-Identifier: MIT */
/*
 * bench_run: time whole-process runs of several commands, interleaved.
 *
 *     bench_run [-n REPS] [-w WARMUP] [-t TIMEOUT_S] [-c CPU] [-r RAW_FILE]
 *               --job NAME [--expect STATUS] [--tsc-stamp|--tsc-span] CMD [ARG...]
 *               [--job ...]...
 *
 * Each round runs every job once, in an order shuffled anew every round
 * (fixed seed, so sessions are repeatable) so that no job always follows the
 * same job. WARMUP rounds are run first and discarded. One run is: read the
 * TSC and CLOCK_MONOTONIC, fork, exec CMD with stdin, stdout and stderr on
 * /dev/null, wait (pidfd + poll: a run still going after TIMEOUT_S is
 * killed), wait4() for the status and peak RSS, CLOCK_MONOTONIC again. -c CPU pins the driver, and so every child, to one
 * CPU (like taskset).
 *
 * --tsc-stamp, --tsc-span: the job's stdout is a pipe instead, and its first
 * 8 bytes are a little-endian TSC value sent by the guest:
 *   --tsc-stamp  a TSC the guest read with its first instruction
 *                (tests/bench/images/first.S); the job's tsc value is that
 *                minus the TSC read before fork: exec -> first instruction.
 *                Needs the guest to see the host's TSC, as it does on the
 *                project's machines.
 *   --tsc-span   a TSC difference the guest measured itself
 *                (tests/bench/images/pio.S).
 * Cycles become microseconds at the TSC rate measured against
 * CLOCK_MONOTONIC over the whole session. A value outside the run's own TSC
 * window (before fork .. after wait) is counted as tsc_bad and left out.
 *
 * Prints one line per job:
 *
 *     NAME runs=N median_us=M q1_us=A q3_us=B min_us=C max_us=D maxrss_kib=R
 *          status=S [tsc_runs=T tsc_median_us=X tsc_q1_us=Y tsc_q3_us=Z tsc_bad=K]
 *
 * maxrss_kib is the median of wait4()'s ru_maxrss. -r appends every sample
 * ("NAME ROUND MICROSECONDS MAXRSS_KIB STATUS TSC_US", TSC_US -1 when none)
 * to RAW_FILE.
 * Exit status: 0 when every run exited with its job's expected status
 * (default 0), 1 when one did not or timed out, 2 on a usage or host error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define MAX_JOBS 16

enum tsc_mode { TSC_NONE, TSC_STAMP, TSC_SPAN };

struct job {
	const char *name;
	char **argv;
	int expect;
	enum tsc_mode tsc;
	double *micros;     /* per accepted run */
	double *cycles;     /* per accepted run with a valid guest TSC value */
	long *maxrss_kib;
	unsigned runs, tsc_runs, failures, tsc_bad;
};

struct options {
	unsigned reps, warmup, timeout_s;
	int cpu;
	const char *raw_path;
	struct job jobs[MAX_JOBS];
	unsigned job_count;
};

/* What one run measured. */
struct sample {
	int status;         /* 0-255, 128 + signal, -1 timed out */
	double micros;
	long maxrss_kib;
	double cycles;      /* guest TSC value (see --tsc-*); < 0 when none or invalid */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_run [-n REPS] [-w WARMUP] [-t TIMEOUT_S] [-c CPU] [-r RAW_FILE]\n"
		"                 --job NAME [--expect STATUS] [--tsc-stamp|--tsc-span] CMD [ARG...]\n"
		"                 [--job ...]...\n"
		"See the header of tests/bench/bench_run.c.\n");
}

static bool parse_unsigned(const char *text, unsigned max, unsigned *out)
{
	char *end;
	unsigned long value = strtoul(text, &end, 10);

	if (!*text || *end || value > max)
		return false;
	*out = (unsigned)value;
	return true;
}

static int parse_options(struct options *opt, int argc, char **argv, int *index)
{
	int i = *index;

	/* Options come in pairs: FLAG VALUE. */
	for (; i < argc && strcmp(argv[i], "--job") != 0; i += 2) {
		const char *flag = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned cpu = 0;
		bool ok = value != NULL;

		if (ok && strcmp(flag, "-n") == 0) {
			ok = parse_unsigned(value, 100000, &opt->reps) && opt->reps > 0;
		} else if (ok && strcmp(flag, "-w") == 0) {
			ok = parse_unsigned(value, 1000, &opt->warmup);
		} else if (ok && strcmp(flag, "-t") == 0) {
			ok = parse_unsigned(value, 3600, &opt->timeout_s) && opt->timeout_s > 0;
		} else if (ok && strcmp(flag, "-c") == 0) {
			ok = parse_unsigned(value, CPU_SETSIZE - 1, &cpu);
			opt->cpu = (int)cpu;
		} else if (ok && strcmp(flag, "-r") == 0) {
			opt->raw_path = value;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "bench_run: bad option '%s'%s%s\n", flag,
				value ? " " : "", value ? value : "");
			return -1;
		}
	}
	*index = i;
	return 0;
}

/* Jobs: "--job NAME [OPTIONS] CMD ARGS"; the next "--job" becomes CMD's NULL. */
static int parse_jobs(struct options *opt, int argc, char **argv, int i)
{
	while (i < argc) {
		int next = i + 1;

		while (next < argc && strcmp(argv[next], "--job") != 0)
			next++;
		if (opt->job_count == MAX_JOBS || next - i < 3) {
			fprintf(stderr, "bench_run: --job needs NAME and CMD (at most %d jobs)\n",
				MAX_JOBS);
			return -1;
		}
		struct job *job = &opt->jobs[opt->job_count++];
		int cmd = i + 2;

		job->name = argv[i + 1];
		for (;;) {
			unsigned status;

			if (cmd + 1 < next && strcmp(argv[cmd], "--tsc-stamp") == 0) {
				job->tsc = TSC_STAMP;
				cmd++;
			} else if (cmd + 1 < next && strcmp(argv[cmd], "--tsc-span") == 0) {
				job->tsc = TSC_SPAN;
				cmd++;
			} else if (cmd + 2 < next && strcmp(argv[cmd], "--expect") == 0 &&
				   parse_unsigned(argv[cmd + 1], 255, &status)) {
				job->expect = (int)status;
				cmd += 2;
			} else {
				break;
			}
		}
		if (argv[cmd][0] == '-') {
			fprintf(stderr, "bench_run: job %s: bad job option or no CMD at '%s'\n",
				job->name, argv[cmd]);
			return -1;
		}
		job->argv = &argv[cmd];
		if (next < argc)
			argv[next] = NULL;
		i = next;
	}
	return 0;
}

/* Shuffle order[0..count) (xorshift64, Fisher-Yates). */
static void shuffle(unsigned *order, unsigned count, uint64_t *state)
{
	for (unsigned i = count; i > 1; i--) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		unsigned j = (unsigned)(*state % i), tmp = order[i - 1];

		order[i - 1] = order[j];
		order[j] = tmp;
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Child side of a run: never returns. */
static void exec_child(const struct job *job, int stdout_fd)
{
	int null_fd = open("/dev/null", O_RDWR);

	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(stdout_fd >= 0 ? stdout_fd : null_fd, 1) < 0 ||
	    dup2(null_fd, 2) < 0)
		_exit(127);
	execv(job->argv[0], job->argv);
	_exit(127);
}

/* Wait for pid with a timeout; fills status/rusage. Returns 0, 1 if killed, -1 on error. */
static int wait_child(pid_t pid, unsigned timeout_s, int *status, struct rusage *usage)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int killed = 0;
	pid_t done;

	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int ready;

		do
			ready = poll(&pfd, 1, (int)timeout_s * 1000);
		while (ready < 0 && errno == EINTR);
		if (ready == 0) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		close(pidfd);
	}
	do
		done = wait4(pid, status, 0, usage);
	while (done < 0 && errno == EINTR);
	return done < 0 ? -1 : killed;
}

/* The guest's TSC value from the first 8 bytes of the pipe; false if fewer came. */
static bool read_guest_tsc(int fd, uint64_t *tsc)
{
	uint8_t bytes[8];
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = read(fd, bytes + got, sizeof(bytes) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	*tsc = 0;
	for (unsigned i = 0; i < 8; i++)
		*tsc |= (uint64_t)bytes[i] << (8 * i);
	return true;
}

/* One timed run. Returns 0, or -1 when the host failed us (fork, pipe, wait). */
static int run_once(const struct job *job, unsigned timeout_s, struct sample *out)
{
	int pipe_fds[2] = { -1, -1 };

	if (job->tsc && pipe2(pipe_fds, O_CLOEXEC) < 0) {
		perror("bench_run: pipe");
		return -1;
	}
	uint64_t tsc_start = __rdtsc();
	double start = now_us();
	pid_t pid = fork();

	if (pid < 0) {
		perror("bench_run: fork");
		return -1;
	}
	if (pid == 0)
		exec_child(job, pipe_fds[1]);
	if (pipe_fds[1] >= 0)
		close(pipe_fds[1]);

	int status;
	struct rusage usage;
	int waited = wait_child(pid, timeout_s, &status, &usage);
	uint64_t tsc_end = __rdtsc();

	out->micros = now_us() - start;
	if (waited < 0) {
		perror("bench_run: wait4");
		return -1;
	}
	out->maxrss_kib = usage.ru_maxrss;
	out->status = waited ? -1 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
		      WEXITSTATUS(status);
	out->cycles = -1;
	if (job->tsc != TSC_NONE) {
		/* The child is gone: everything it wrote is in the pipe. */
		uint64_t guest;
		bool got = read_guest_tsc(pipe_fds[0], &guest);

		if (got && job->tsc == TSC_STAMP && guest > tsc_start && guest < tsc_end)
			out->cycles = (double)(guest - tsc_start);
		else if (got && job->tsc == TSC_SPAN && guest < tsc_end - tsc_start)
			out->cycles = (double)guest;
		close(pipe_fds[0]);
	}
	return 0;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int compare_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Quantile of sorted values, linear interpolation. */
static double quantile(const double *sorted, unsigned count, double q)
{
	double position = q * (count - 1);
	unsigned below = (unsigned)position;
	double fraction = position - below;

	if (below + 1 >= count)
		return sorted[count - 1];
	return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

static void report(struct job *job, double tsc_per_us)
{
	if (job->runs == 0) {
		printf("%s runs=0 status=%d\n", job->name, job->expect);
		return;
	}
	qsort(job->micros, job->runs, sizeof(double), compare_double);
	qsort(job->maxrss_kib, job->runs, sizeof(long), compare_long);
	printf("%s runs=%u median_us=%.1f q1_us=%.1f q3_us=%.1f min_us=%.1f max_us=%.1f "
	       "maxrss_kib=%ld status=%d", job->name, job->runs,
	       quantile(job->micros, job->runs, 0.5), quantile(job->micros, job->runs, 0.25),
	       quantile(job->micros, job->runs, 0.75), job->micros[0],
	       job->micros[job->runs - 1], job->maxrss_kib[job->runs / 2], job->expect);
	if (job->tsc != TSC_NONE && job->tsc_runs) {
		qsort(job->cycles, job->tsc_runs, sizeof(double), compare_double);
		printf(" tsc_runs=%u tsc_median_us=%.2f tsc_q1_us=%.2f tsc_q3_us=%.2f",
		       job->tsc_runs, quantile(job->cycles, job->tsc_runs, 0.5) / tsc_per_us,
		       quantile(job->cycles, job->tsc_runs, 0.25) / tsc_per_us,
		       quantile(job->cycles, job->tsc_runs, 0.75) / tsc_per_us);
	}
	if (job->tsc != TSC_NONE)
		printf(" tsc_bad=%u", job->tsc_bad);
	printf("\n");
}

static int setup(struct options *opt, FILE **raw)
{
	if (opt->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(opt->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, "bench_run: pinning to CPU %d: %s\n", opt->cpu,
				strerror(errno));
			return -1;
		}
	}
	if (opt->raw_path && !(*raw = fopen(opt->raw_path, "a"))) {
		fprintf(stderr, "bench_run: %s: %s\n", opt->raw_path, strerror(errno));
		return -1;
	}
	for (unsigned j = 0; j < opt->job_count; j++) {
		struct job *job = &opt->jobs[j];

		job->micros = calloc(opt->reps, sizeof(double));
		job->cycles = calloc(opt->reps, sizeof(double));
		job->maxrss_kib = calloc(opt->reps, sizeof(long));
		if (!job->micros || !job->cycles || !job->maxrss_kib) {
			fprintf(stderr, "bench_run: out of memory\n");
			return -1;
		}
	}
	return 0;
}

static void record(struct job *job, const struct sample *s, unsigned round, FILE *raw,
		   double tsc_per_us_estimate)
{
	job->micros[job->runs] = s->micros;
	job->maxrss_kib[job->runs] = s->maxrss_kib;
	job->runs++;
	if (job->tsc != TSC_NONE && s->cycles >= 0)
		job->cycles[job->tsc_runs++] = s->cycles;
	else if (job->tsc != TSC_NONE)
		job->tsc_bad++;
	if (raw)
		fprintf(raw, "%s %u %.1f %ld %d %.2f\n", job->name, round, s->micros,
			s->maxrss_kib, s->status,
			s->cycles >= 0 ? s->cycles / tsc_per_us_estimate : -1.0);
}

int main(int argc, char **argv)
{
	struct options opt = { .reps = 20, .warmup = 2, .timeout_s = 60, .cpu = -1 };
	FILE *raw = NULL;
	bool failed = false;
	int index = 1;

	if (argc < 2 || parse_options(&opt, argc, argv, &index) ||
	    parse_jobs(&opt, argc, argv, index) || opt.job_count == 0) {
		usage();
		return 2;
	}
	if (setup(&opt, &raw))
		return 2;
	uint64_t session_tsc = __rdtsc();
	double session_us = now_us();
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned order[MAX_JOBS];

	for (unsigned j = 0; j < opt.job_count; j++)
		order[j] = j;
	for (unsigned round = 0; round < opt.warmup + opt.reps; round++) {
		shuffle(order, opt.job_count, &seed);
		for (unsigned k = 0; k < opt.job_count; k++) {
			struct job *job = &opt.jobs[order[k]];
			struct sample s;

			if (run_once(job, opt.timeout_s, &s))
				return 2;
			if (s.status != job->expect) {
				failed = true;
				if (++job->failures <= 3)
					fprintf(stderr, "bench_run: %s: run %u %s %d%s (expected status %d)\n",
						job->name, round, s.status < 0 ? "timed out after" :
						"exited with status", s.status < 0 ? (int)opt.timeout_s :
						s.status, s.status < 0 ? " s" : "", job->expect);
				continue;
			}
			if (round < opt.warmup)
				continue;
			/* Raw TSC_US: the rate so far; the summary: the whole session's. */
			double rate = (double)(__rdtsc() - session_tsc) / (now_us() - session_us);

			record(job, &s, round - opt.warmup, raw, rate);
		}
	}
	double tsc_per_us = (double)(__rdtsc() - session_tsc) / (now_us() - session_us);

	for (unsigned j = 0; j < opt.job_count; j++) {
		report(&opt.jobs[j], tsc_per_us);
		free(opt.jobs[j].micros);
		free(opt.jobs[j].cycles);
		free(opt.jobs[j].maxrss_kib);
	}
	if (raw)
		fclose(raw);
	return failed ? 1 : 0;
}
