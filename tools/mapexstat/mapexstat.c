// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/mapexstat.c - mapexstat: report mapex range lock
 * contention. This file owns the options (help text, parsing, checks) and
 * main: it loads tools/bpf/mapexstat.bpf.c or reuses the collection that
 * `mapexstat --pin` left under /sys/fs/bpf/mapex/ (pin.c), then prints
 * waits per inode, mode pair and waiting process (per thread with -t, per
 * holder with -o, per kernel stack with -s, per user stack with -U),
 * optional log2 histograms of waits and (-L) of hold times, as a table,
 * CSV or JSON (report.c), once, every -i seconds or at the end. See
 * docs/mapexstat.md.
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage or environment error
 * (bad option or value, not root, mapex not loaded, BPF unavailable).
 */
#define _GNU_SOURCE
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include <bpf/libbpf.h>

#include <mapex/version.h>

#include "mapexstat.h"
#include "mapexstat.skel.h"
#include "status.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char *const sort_names[][2] = {
	[SORT_TOTAL]	 = { "total", "wait_total" },
	[SORT_CONTENDED] = { "contended", "contended" },
	[SORT_MAX]	 = { "max", "wait_max" },
	[SORT_AVG]	 = { "avg", "avg_wait" },
	[SORT_MIN]	 = { "min", "wait_min" },
};

struct options opt = {
	.mode = ANY, .holder = ANY,
	.map_entries = MAPEX_STATS_ENTRIES,
};

static volatile sig_atomic_t stop;

void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("mapexstat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* ---- options: one table gives the parser and --help (argp) ------------- */

enum {
	OPT_INODE = 256, OPT_MODE, OPT_JSON, OPT_PIN, OPT_UNPIN, OPT_STATUS,
	OPT_TID, OPT_COMM, OPT_CGROUP,
};

const char *argp_program_version = "mapexstat " MAPEX_VERSION;
/* a bad option, a missing value: exit status 2, as for every usage error */
error_t argp_err_exit_status = EXIT_USAGE;

static const char argp_doc[] =
"Report mapex range lock contention per inode and (waiter, holder) mode pair."
"\v"
"Exit status: 0 ok, 1 runtime failure, 2 bad usage, not root, mapex not\n"
"loaded or BPF unavailable.  See mapexstat(8) and docs/mapexstat.md.";

static const struct argp_option argp_options[] = {
	{ NULL, 0, NULL, 0, "Reporting:", 1 },
	{ "interval", 'i', "SEC", 0,
	  "Print (and, when not pinned, reset) every SEC seconds", 1 },
	{ "duration", 'd', "SEC", 0,
	  "Stop after SEC seconds (default: until Ctrl-C; when pinned: print the totals at once)", 1 },
	{ "histogram", 'H', NULL, 0, "Print log2 wait histograms per mode pair", 1 },
	{ "json", OPT_JSON, NULL, 0, "Print JSON, one object per line", 1 },
	{ "field-separator", 'x', "SEP", 0, "Print CSV with separator SEP", 1 },
	{ "timestamp", 'T', NULL, 0, "Time of day on each report", 1 },
	{ "key", 'k', "KEY", 0,
	  "Sort by total (default), contended, max, avg, min", 1 },
	{ "entries", 'E', "N", 0, "Print at most N rows", 1 },
	{ NULL, 0, NULL, 0, "Rows and details:", 2 },
	{ "threads", 't', NULL, 0,
	  "One row per waiting thread (tid), not per process", 2 },
	{ "holders", 'o', NULL, 0,
	  "Holder columns: the holder's tid, pid and comm", 2 },
	{ "stacks", 's', "N", 0,
	  "Waiters' kernel stacks, N frames printed (1..64)", 2 },
	{ "user-stacks", 'U', "N", 0,
	  "Waiters' user stacks as file+offset, N frames printed (1..64; whole only through code built with frame pointers)", 2 },
	{ "hold-times", 'L', NULL, 0,
	  "Log2 histograms of hold times per inode and mode (attaches to every lock release)", 2 },
	{ NULL, 0, NULL, 0, "Filters:", 3 },
	{ "pid", 'p', "PID", 0,
	  "Only waits of process PID (not with a pinned collection)", 3 },
	{ "tid", OPT_TID, "TID", 0, "Only waits of thread TID (likewise)", 3 },
	{ "comm", OPT_COMM, "COMM", 0,
	  "Only waits of threads named COMM (likewise)", 3 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Only waits of tasks in cgroup v2 PATH (likewise)", 3 },
	{ "inode", OPT_INODE, "WHAT", 0,
	  "Only one inode: INO, MAJ:MIN:INO or a PATH", 3 },
	{ "mode", OPT_MODE, "W[:H]", 0,
	  "Only waiter mode W (and holder mode H); modes are fault, buffered, direct_read, direct_write, inval (holder also: none)", 3 },
	{ NULL, 0, NULL, 0, "Collection:", 4 },
	{ "map-entries", 'M', "N", 0,
	  "Size of the per-inode map (default 10240)", 4 },
	{ "pin", OPT_PIN, NULL, 0,
	  "Load, attach and pin under " MAPEX_PIN_DIR ", then exit: collection goes on until --unpin (with the filters and -t, -o, -s given)", 4 },
	{ "unpin", OPT_UNPIN, NULL, 0,
	  "Detach and remove the pinned collection", 4 },
	{ "status", OPT_STATUS, NULL, 0,
	  "What mapex guards: per filesystem guarded or not, each hook's state, counters, unguarded warnings, versions (with -i: every SEC seconds, what moved; no root)", 4 },
	{ NULL, 0, NULL, 0, "Other:", 5 },
	{ "verbose", 'v', NULL, 0, "Show libbpf messages", 5 },
	{ NULL, 'h', NULL, 0, "Show this help", 5 },
	{},
};

/* ---- option parsing ---------------------------------------------------- */

static unsigned long parse_num(const char *name, const char *s,
			       unsigned long min, unsigned long max)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		die(EXIT_USAGE, "%s needs a number, got '%s'", name, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die(EXIT_USAGE, "%s: bad value '%s' (expected %lu..%lu)",
		    name, s, min, max);
	return v;
}

static int mode_by_name(const char *s, bool allow_none)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mapex_mode_names); i++)
		if (!strcmp(s, mapex_mode_names[i]))
			return i;
	if (allow_none && !strcmp(s, "none"))
		return MAPEX_MODE_NONE;
	return -1;
}

static void parse_mode(const char *arg)
{
	char buf[64], *sep, *holder = NULL;
	int m;

	if (strlen(arg) >= sizeof(buf))
		die(EXIT_USAGE, "--mode: bad value '%s'", arg);
	strcpy(buf, arg);
	sep = strstr(buf, "->");
	if (sep) {
		*sep = '\0';
		holder = sep + 2;
	} else if ((sep = strchr(buf, ':'))) {
		*sep = '\0';
		holder = sep + 1;
	}
	m = mode_by_name(buf, false);
	if (m < 0)
		die(EXIT_USAGE, "--mode: unknown waiter mode '%s' (fault, buffered, direct_read, direct_write, inval)",
		    buf);
	opt.mode = m;
	if (holder) {
		m = mode_by_name(holder, true);
		if (m < 0)
			die(EXIT_USAGE, "--mode: unknown holder mode '%s' (fault, buffered, direct_read, direct_write, inval, none)",
			    holder);
		opt.holder = m;
	}
}
static void parse_inode(const char *arg)
{
	unsigned int ma, mi;
	unsigned long long ino;
	char fdinfo[64], tail;
	struct stat st;
	int fd;

	if (!*arg)
		die(EXIT_USAGE, "--inode needs INO, MAJ:MIN:INO or a path");
	if (strspn(arg, "0123456789") == strlen(arg)) {
		opt.ino = parse_num("--inode", arg, 1, ULONG_MAX);
		return;
	}
	if (sscanf(arg, "%u:%u:%llu%c", &ma, &mi, &ino, &tail) == 3) {
		if (!ino || ma > 0xfff || mi > 0xfffff)
			die(EXIT_USAGE, "--inode: bad value '%s'", arg);
		opt.dev = KDEV(ma, mi);
		opt.ino = ino;
		return;
	}
	fd = open(arg, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		die(EXIT_USAGE, "--inode: cannot stat '%s': %s", arg,
		    strerror(errno));
	opt.ino = st.st_ino;
	opt.dev = KDEV(major(st.st_dev), minor(st.st_dev));
	snprintf(fdinfo, sizeof(fdinfo), "/proc/self/fdinfo/%d", fd);
	mnt_dev(fdinfo, "/proc/self/mountinfo", &opt.dev);
	close(fd);
}

/* -p PID, --tid TID: a number that /proc knows (threads are there too). */
static unsigned int parse_task(const char *name, const char *what,
			       const char *arg)
{
	unsigned int id = parse_num(name, arg, 1, INT_MAX);
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u", id);
	if (access(path, F_OK))
		die(EXIT_USAGE, "%s: no %s %u", name, what, id);
	return id;
}

/* --cgroup PATH: the id of a cgroup v2 directory (its inode number). */
static void parse_cgroup(const char *arg)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(arg, &sfs) || stat(arg, &st))
		die(EXIT_USAGE, "--cgroup: cannot stat '%s': %s", arg,
		    strerror(errno));
	if (sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode))
		die(EXIT_USAGE, "--cgroup: '%s' is not a cgroup v2 directory",
		    arg);
	opt.cgroup = st.st_ino;
}

/* What the options given so far touch: for the checks between them. */
struct parse_state {
	bool filters, output, map_size, detail;
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse_state *ps = state->input;
	unsigned int i;

	switch (key) {
	case 'i':
		opt.interval = parse_num("-i", arg, 1, 86400);
		ps->output = true;
		break;
	case 'd':
		opt.duration = parse_num("-d", arg, 1, 31536000);
		ps->output = true;
		break;
	case 'p':
		opt.pid = parse_task("-p", "process", arg);
		ps->filters = true;
		break;
	case OPT_TID:
		opt.tid = parse_task("--tid", "thread", arg);
		ps->filters = true;
		break;
	case OPT_COMM:
		if (!*arg || strlen(arg) >= MAPEX_COMM_LEN)
			die(EXIT_USAGE, "--comm: bad value '%s' (1..%d characters)",
			    arg, MAPEX_COMM_LEN - 1);
		strcpy(opt.comm, arg);
		ps->filters = true;
		break;
	case OPT_CGROUP:
		parse_cgroup(arg);
		ps->filters = true;
		break;
	case 't':
		opt.per_thread = true;
		ps->detail = true;
		break;
	case 'o':
		opt.holders = true;
		ps->detail = true;
		break;
	case 's':
		opt.stack_frames = parse_num("-s", arg, 1,
					     MAPEX_STACK_DEPTH);
		ps->detail = true;
		break;
	case 'U':
		opt.ustack_frames = parse_num("-U", arg, 1, MAPEX_STACK_DEPTH);
		ps->detail = true;
		break;
	case 'L':
		opt.hold_times = true;
		ps->detail = true;
		break;
	case 'x':
		if (!*arg)
			die(EXIT_USAGE, "-x: empty separator");
		opt.sep = arg;
		ps->output = true;
		break;
	case 'T':
		opt.timestamp = true;
		ps->output = true;
		break;
	case OPT_INODE:
		parse_inode(arg);
		ps->filters = true;
		break;
	case OPT_MODE:
		parse_mode(arg);
		ps->filters = true;
		break;
	case 'H':
		opt.hist = true;
		ps->output = true;
		break;
	case OPT_JSON:
		opt.json = true;
		ps->output = true;
		break;
	case 'k':
		for (i = 0; i < ARRAY_SIZE(sort_names); i++)
			if (!strcmp(arg, sort_names[i][0]) ||
			    !strcmp(arg, sort_names[i][1]))
				break;
		if (i == ARRAY_SIZE(sort_names))
			die(EXIT_USAGE, "-k: unknown sort key '%s' (total, contended, max, avg, min)",
			    arg);
		opt.sort = i;
		ps->output = true;
		break;
	case 'E':
		opt.entries = parse_num("-E", arg, 1, ULONG_MAX);
		ps->output = true;
		break;
	case 'M':
		opt.map_entries = parse_num("-M", arg, 1, 1U << 24);
		ps->map_size = true;
		break;
	case OPT_PIN:
		opt.pin = true;
		break;
	case OPT_UNPIN:
		opt.unpin = true;
		break;
	case OPT_STATUS:
		opt.status = true;
		break;
	case 'v':
		opt.verbose = true;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (opt.status &&
		    (opt.pin || opt.unpin || ps->filters || ps->map_size ||
		     ps->detail || opt.sep || opt.timestamp || opt.hist ||
		     opt.entries || opt.sort != SORT_TOTAL))
			die(EXIT_USAGE, "--status takes only -i, -d and --json");
		if (opt.pin && opt.unpin)
			die(EXIT_USAGE, "--pin and --unpin exclude each other");
		if (opt.unpin &&
		    (ps->filters || ps->output || ps->map_size || ps->detail))
			die(EXIT_USAGE, "--unpin takes no other options");
		if (opt.pin && ps->output)
			die(EXIT_USAGE, "--pin only loads and exits: run mapexstat again to print");
		if (opt.sep && opt.json)
			die(EXIT_USAGE, "-x and --json exclude each other");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void parse_args(int argc, char **argv)
{
	static const struct argp argp = {
		.options = argp_options,
		.parser = parse_opt,
		.doc = argp_doc,
	};
	struct parse_state ps = {};

	argp_parse(&argp, argc, argv, 0, NULL, &ps);
}

/* ---- main -------------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until t (monotonic seconds) or a signal; false when stopped. */
static bool sleep_until(double t)
{
	struct timespec ts;
	double left;

	while (!stop && (left = t - now()) > 0) {
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return !stop;
}

int main(int argc, char **argv)
{
	struct session s = { .stats_fd = -1, .stacks_fd = -1, .hold_fd = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	double start, last, end;

	parse_args(argc, argv);
	if (opt.status) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		return mapexstat_status(opt.json, opt.interval, opt.duration,
					&stop);
	}
	if (geteuid() != 0)
		die(EXIT_USAGE, "must be run as root (BPF and tracefs need it)");
	set_libbpf_print();

	if (opt.unpin) {
		if (!exists(MAPEX_PIN_DIR)) {
			fprintf(stderr, "mapexstat: nothing pinned at %s\n",
				MAPEX_PIN_DIR);
			return 0;
		}
		return unpin_all(true, NULL) ? EXIT_RUNTIME : 0;
	}

	check_module();
	check_bpf();
	if (opt.pin) {
		check_bpffs();
		if (pinned_collection())
			die(EXIT_RUNTIME, "already pinned at %s (mapexstat --unpin first)",
			    MAPEX_PIN_DIR);
		load(&s, true);
		mapexstat_bpf__destroy(s.skel);
		if (!opt.json)
			printf("mapexstat: collecting; maps and links pinned at %s\n",
			       MAPEX_PIN_DIR);
		return 0;
	}

	if (pinned_collection()) {
		if (opt.pid || opt.tid || opt.comm[0] || opt.cgroup)
			die(EXIT_USAGE, "%s cannot filter a pinned collection (filters are fixed at --pin)",
			    opt.pid ? "-p" : opt.tid ? "--tid" :
			    opt.comm[0] ? "--comm" : "--cgroup");
		if (opt.map_entries != MAPEX_STATS_ENTRIES)
			die(EXIT_USAGE, "-M cannot resize a pinned collection");
		open_pinned(&s);
	} else {
		load(&s, false);
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	start = last = now();
	end = opt.duration ? start + opt.duration : 0;
	if (s.pinned && !opt.interval && !opt.duration) {
		report(&s, false, 0);
		return 0;
	}
	if (!opt.interval && !opt.duration)
		fprintf(stderr, "mapexstat: tracing mapex contention, Ctrl-C to print\n");
	for (;;) {
		double next = opt.interval ? last + opt.interval : 0;
		bool running;

		if (end && (!next || end < next))
			next = end;
		running = next ? sleep_until(next) : sleep_until(1e300);
		report(&s, !s.pinned && opt.interval, now() - last);
		last = now();
		if (!running || (end && last >= end - 1e-3))
			break;
	}
	if (s.skel)
		mapexstat_bpf__destroy(s.skel);
	return 0;
}
