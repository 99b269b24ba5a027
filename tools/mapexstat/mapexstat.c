// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/mapexstat.c - mapexstat: report mapex range lock
 * contention. Loads tools/bpf/mapexstat.bpf.c (or reuses the collection that
 * `mapexstat --pin` left under /sys/fs/bpf/mapex/), then prints waits per
 * inode and mode pair sorted by total wait, optional log2 histograms, or
 * JSON. See docs/mapexstat.md.
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage or environment error
 * (bad option or value, not root, mapex not loaded, BPF unavailable).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mapex/stat.h>
#include "mapexstat.skel.h"
#include "status.h"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC	0xcafe4a11
#endif

#define KDEV_MAJOR(d)	((unsigned int)(d) >> 20)
#define KDEV_MINOR(d)	((unsigned int)(d) & 0xfffff)
#define KDEV(ma, mi)	(((unsigned int)(ma) << 20) | ((unsigned int)(mi) & 0xfffff))

#define ANY		(~0U)
#define LINK_SUFFIX	"_link"

enum sort_key { SORT_TOTAL, SORT_CONTENDED, SORT_MAX, SORT_AVG, SORT_MIN };

static const char *const sort_names[][2] = {
	[SORT_TOTAL]	 = { "total", "wait_total" },
	[SORT_CONTENDED] = { "contended", "contended" },
	[SORT_MAX]	 = { "max", "wait_max" },
	[SORT_AVG]	 = { "avg", "avg_wait" },
	[SORT_MIN]	 = { "min", "wait_min" },
};

static struct options {
	unsigned long interval;		/* seconds, 0: none */
	unsigned long duration;		/* seconds, 0: until signal */
	unsigned int pid;
	unsigned int dev;		/* kernel dev_t, 0: any */
	unsigned long long ino;		/* 0: any */
	unsigned int mode, holder;	/* ANY or enum mapex_mode */
	bool hist, json, pin, unpin, verbose, status;
	enum sort_key sort;
	unsigned long entries;		/* rows printed, 0: all */
	unsigned long map_entries;
} opt = {
	.mode = ANY, .holder = ANY,
	.map_entries = MAPEX_STATS_ENTRIES,
};

static volatile sig_atomic_t stop;

static const char *const mode_names[] = MAPEX_MODE_NAMES;
static const char *const op_names[] = MAPEX_OP_NAMES;
static const char *const cp_names[] = MAPEX_CHECKPOINT_NAMES;

static const char *const link_progs[] = {
	"mapex_begin", "mapex_end", "mapex_refused", "mapex_unguarded",
};
static const char *const map_names[] = {
	MAPEX_MAP_STATS, MAPEX_MAP_HIST, MAPEX_MAP_COUNTERS,
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static void __attribute__((format(printf, 2, 3), noreturn))
die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("mapexstat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(FILE *f)
{
	fputs(
"Usage: mapexstat [OPTIONS]\n"
"Report mapex range lock contention per inode and (waiter, holder) mode pair.\n"
"\n"
"  -i, --interval SEC    print (and, when not pinned, reset) every SEC seconds\n"
"  -d, --duration SEC    stop after SEC seconds (default: until Ctrl-C;\n"
"                        when pinned: print the totals at once)\n"
"  -p, --pid PID         only waits of process PID (not with a pinned collection)\n"
"      --inode WHAT      only one inode: INO, MAJ:MIN:INO or a PATH\n"
"      --mode W[:H]      only waiter mode W (and holder mode H); modes are\n"
"                        fault, buffered, direct_read, direct_write, inval\n"
"                        (holder also: none)\n"
"  -H, --histogram       print log2 wait histograms per mode pair\n"
"      --json            print JSON, one object per line\n"
"  -k, --key KEY         sort by total (default), contended, max, avg, min\n"
"  -E, --entries N       print at most N rows\n"
"  -M, --map-entries N   size of the per-inode map (default 10240)\n"
"      --pin             load, attach and pin under " MAPEX_PIN_DIR ", then exit:\n"
"                        collection goes on until --unpin\n"
"      --unpin           detach and remove the pinned collection\n"
"      --status          what mapex guards: per filesystem guarded or not, each\n"
"                        hook's state, counters, unguarded warnings, versions\n"
"                        (with -i: every SEC seconds, what moved; no root)\n"
"  -v, --verbose         show libbpf messages\n"
"  -h, --help            show this help\n"
"\n"
"Exit status: 0 ok, 1 runtime failure, 2 bad usage, not root, mapex not\n"
"loaded or BPF unavailable.\n", f);
}

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

	for (i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(s, mode_names[i]))
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

/* The superblock dev_t of the file behind an open fd (btrfs-proof). */
static bool mnt_dev(const char *fdinfo, const char *mountinfo,
		    unsigned int *dev)
{
	char line[4096];
	int mnt_id = -1, id, ma, mi;
	bool found = false;
	FILE *f;

	f = fopen(fdinfo, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", &mnt_id) == 1)
			break;
	fclose(f);
	if (mnt_id < 0)
		return false;
	f = fopen(mountinfo, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %*d %d:%d", &id, &ma, &mi) == 3 &&
		    id == mnt_id) {
			*dev = KDEV(ma, mi);
			found = true;
		}
	}
	fclose(f);
	return found;
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

static void parse_args(int argc, char **argv)
{
	enum { OPT_INODE = 256, OPT_MODE, OPT_JSON, OPT_PIN, OPT_UNPIN, OPT_STATUS };
	static const struct option longopts[] = {
		{ "interval",	 required_argument, NULL, 'i' },
		{ "duration",	 required_argument, NULL, 'd' },
		{ "pid",	 required_argument, NULL, 'p' },
		{ "inode",	 required_argument, NULL, OPT_INODE },
		{ "mode",	 required_argument, NULL, OPT_MODE },
		{ "histogram",	 no_argument,	    NULL, 'H' },
		{ "json",	 no_argument,	    NULL, OPT_JSON },
		{ "key",	 required_argument, NULL, 'k' },
		{ "entries",	 required_argument, NULL, 'E' },
		{ "map-entries", required_argument, NULL, 'M' },
		{ "pin",	 no_argument,	    NULL, OPT_PIN },
		{ "unpin",	 no_argument,	    NULL, OPT_UNPIN },
		{ "status",	 no_argument,	    NULL, OPT_STATUS },
		{ "verbose",	 no_argument,	    NULL, 'v' },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool filters = false, output = false, map_size = false;
	char path[64];
	unsigned int i;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:d:p:Hk:E:M:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			opt.interval = parse_num("-i", optarg, 1, 86400);
			output = true;
			break;
		case 'd':
			opt.duration = parse_num("-d", optarg, 1, 31536000);
			output = true;
			break;
		case 'p':
			opt.pid = parse_num("-p", optarg, 1, INT_MAX);
			snprintf(path, sizeof(path), "/proc/%u", opt.pid);
			if (access(path, F_OK))
				die(EXIT_USAGE, "-p: no process %u", opt.pid);
			filters = true;
			break;
		case OPT_INODE:
			parse_inode(optarg);
			filters = true;
			break;
		case OPT_MODE:
			parse_mode(optarg);
			filters = true;
			break;
		case 'H':
			opt.hist = true;
			output = true;
			break;
		case OPT_JSON:
			opt.json = true;
			output = true;
			break;
		case 'k':
			for (i = 0; i < ARRAY_SIZE(sort_names); i++)
				if (!strcmp(optarg, sort_names[i][0]) ||
				    !strcmp(optarg, sort_names[i][1]))
					break;
			if (i == ARRAY_SIZE(sort_names))
				die(EXIT_USAGE, "-k: unknown sort key '%s' (total, contended, max, avg, min)",
				    optarg);
			opt.sort = i;
			output = true;
			break;
		case 'E':
			opt.entries = parse_num("-E", optarg, 1, ULONG_MAX);
			output = true;
			break;
		case 'M':
			opt.map_entries = parse_num("-M", optarg, 1, 1U << 24);
			map_size = true;
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
			usage(stdout);
			exit(0);
		case ':':
			die(EXIT_USAGE, "option '%s' needs a value (see --help)",
			    argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256 &&
			    argv[optind - 1][1] != '-')
				die(EXIT_USAGE, "unknown option '-%c' (see --help)",
				    optopt);
			die(EXIT_USAGE, "unknown option '%s' (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s' (see --help)",
		    argv[optind]);
	if (opt.status && (opt.pin || opt.unpin || filters || map_size ||
			   opt.hist || opt.entries || opt.sort != SORT_TOTAL))
		die(EXIT_USAGE, "--status takes only -i, -d and --json");
	if (opt.pin && opt.unpin)
		die(EXIT_USAGE, "--pin and --unpin exclude each other");
	if (opt.unpin && (filters || output || map_size))
		die(EXIT_USAGE, "--unpin takes no other options");
	if (opt.pin && output)
		die(EXIT_USAGE, "--pin only loads and exits: run mapexstat again to print");
}

/* ---- environment checks ------------------------------------------------ */

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void check_module(void)
{
	static const char *const events[] = {
		"/sys/kernel/tracing/events",
		"/sys/kernel/debug/tracing/events",
	};
	char path[128];
	unsigned int i;

	if (!exists("/sys/kernel/mapex") && !exists("/sys/module/mapex"))
		die(EXIT_USAGE, "the mapex module is not loaded (no /sys/kernel/mapex)");
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		if (!exists(events[i]))
			continue;
		snprintf(path, sizeof(path), "%s/mapex/mapex_contention_end",
			 events[i]);
		if (!exists(path))
			die(EXIT_USAGE, "the mapex tracepoints are missing (no %s): is the mapex module loaded?",
			    path);
		return;
	}
	/* tracefs not mounted: attaching will tell. */
}

static void check_bpf(void)
{
	int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT,
					     NULL);

	if (ret < 0)
		die(EXIT_USAGE, "BPF is unavailable: %s", strerror(-ret));
	if (ret == 0)
		die(EXIT_USAGE, "BPF is unavailable: this kernel refuses raw tracepoint programs");
}

static void check_bpffs(void)
{
	struct statfs sfs;

	if (statfs(MAPEX_PIN_ROOT, &sfs) || sfs.f_type != BPF_FS_MAGIC)
		die(EXIT_USAGE, "BPF is unavailable: no bpffs mounted at %s (mount -t bpf bpf %s)",
		    MAPEX_PIN_ROOT, MAPEX_PIN_ROOT);
}

static void pin_path(char *buf, size_t n, const char *name, const char *suffix)
{
	snprintf(buf, n, "%s/%s%s", MAPEX_PIN_DIR, name, suffix);
}

static bool pinned_collection(void)
{
	char path[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(link_progs); i++) {
		pin_path(path, sizeof(path), link_progs[i], LINK_SUFFIX);
		if (exists(path))
			return true;
	}
	return false;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !opt.verbose)
		return 0;
	if (!opt.verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- loading, attaching, pinning --------------------------------------- */

struct session {
	struct mapexstat_bpf *skel;	/* NULL when reusing pinned maps */
	int stats_fd, hist_fd, counters_fd;
	bool pinned;			/* reading a --pin collection */
};

/* Remove the pins named in the tables; missing ones are not an error. */
static int unpin_all(bool maps_too, const bool *keep_map)
{
	char path[256];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(link_progs); i++) {
		pin_path(path, sizeof(path), link_progs[i], LINK_SUFFIX);
		if (unlink(path) && errno != ENOENT) {
			fprintf(stderr, "mapexstat: cannot remove %s: %s\n",
				path, strerror(errno));
			ret = -1;
		}
	}
	for (i = 0; maps_too && i < ARRAY_SIZE(map_names); i++) {
		if (keep_map && keep_map[i])
			continue;
		pin_path(path, sizeof(path), map_names[i], "");
		if (unlink(path) && errno != ENOENT) {
			fprintf(stderr, "mapexstat: cannot remove %s: %s\n",
				path, strerror(errno));
			ret = -1;
		}
	}
	if (maps_too && !keep_map && rmdir(MAPEX_PIN_DIR) && errno != ENOENT) {
		fprintf(stderr, "mapexstat: cannot remove %s: %s\n",
			MAPEX_PIN_DIR, strerror(errno));
		ret = -1;
	}
	return ret;
}

static void load_error(const char *what, int err)
{
	if (err == -ENOENT || err == -ESRCH)
		die(EXIT_USAGE, "%s: mapex tracepoints not found: is the mapex module loaded?",
		    what);
	if (err == -EPERM || err == -EACCES || err == -ENOSYS)
		die(EXIT_USAGE, "%s: BPF is unavailable: %s", what,
		    strerror(-err));
	die(EXIT_RUNTIME, "%s failed: %s", what, strerror(-err));
}

/* Undo a half-done load(): drop the object and, for --pin, its new pins. */
static void load_failed(struct mapexstat_bpf *skel, bool pin,
			const bool *had_map, const char *what, int err)
{
	mapexstat_bpf__destroy(skel);
	if (pin)
		unpin_all(true, had_map);
	if (pin && err == -EINVAL)
		die(EXIT_RUNTIME, "%s failed: %s (stale maps in %s? try --unpin)",
		    what, strerror(-err), MAPEX_PIN_DIR);
	load_error(what, err);
}

/*
 * Open, configure, load and attach the programs. With pin, maps are pinned
 * by name and the links are pinned too; on failure every pin this call made
 * is removed again, so a refused --pin changes nothing.
 */
static void load(struct session *s, bool pin)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = MAPEX_PIN_DIR);
	bool had_map[ARRAY_SIZE(map_names)] = { false };
	const struct bpf_object_skeleton *os;
	struct mapexstat_bpf *skel;
	struct bpf_map *map;
	char path[256];
	int i, err;

	for (i = 0; pin && i < (int)ARRAY_SIZE(map_names); i++) {
		pin_path(path, sizeof(path), map_names[i], "");
		had_map[i] = exists(path);
	}
	skel = mapexstat_bpf__open_opts(&oopts);
	if (!skel)
		load_error("opening the BPF object", -errno);
	skel->rodata->targ_tgid = opt.pid;
	skel->rodata->targ_dev = opt.dev;
	skel->rodata->targ_ino = opt.ino;
	skel->rodata->targ_mode = opt.mode;
	skel->rodata->targ_holder = opt.holder;
	err = bpf_map__set_max_entries(skel->maps.mapex_stats,
				       opt.map_entries);
	bpf_object__for_each_map(map, skel->obj)
		if (!err && !pin)
			err = bpf_map__set_pin_path(map, NULL);
	if (err)
		load_failed(skel, false, NULL, "configuring the BPF object", err);
	err = mapexstat_bpf__load(skel);
	if (err)
		load_failed(skel, pin, had_map, "loading BPF programs", err);
	err = mapexstat_bpf__attach(skel);
	if (err)
		load_failed(skel, pin, had_map,
			    "attaching to the mapex tracepoints", err);
	os = skel->skeleton;
	for (i = 0; pin && i < os->prog_cnt; i++) {
		struct bpf_link *link = *os->progs[i].link;

		pin_path(path, sizeof(path), os->progs[i].name, LINK_SUFFIX);
		err = link ? bpf_link__pin(link, path) : -ENOENT;
		if (err)
			load_failed(skel, pin, had_map, "pinning the links",
				    err);
	}
	s->skel = skel;
	s->stats_fd = bpf_map__fd(skel->maps.mapex_stats);
	s->hist_fd = bpf_map__fd(skel->maps.mapex_hist);
	s->counters_fd = bpf_map__fd(skel->maps.mapex_counters);
}

static void open_pinned(struct session *s)
{
	int *fds[] = { &s->stats_fd, &s->hist_fd, &s->counters_fd };
	char path[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map_names); i++) {
		pin_path(path, sizeof(path), map_names[i], "");
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0)
			die(EXIT_RUNTIME, "cannot open pinned map %s: %s (try --unpin)",
			    path, strerror(errno));
	}
	s->pinned = true;
}

/* ---- reading the maps -------------------------------------------------- */

struct entry {
	struct mapex_stat_key key;
	struct mapex_stat_val val;
	char *path;
};

struct hist {
	struct mapex_hist_key key;
	struct mapex_hist_val val;
};

struct snapshot {
	struct entry *e;
	size_t n;
	struct hist *h;
	size_t nh;
	struct mapex_counters c;
};

static bool want(unsigned int dev, unsigned long long ino, unsigned int mode,
		 unsigned int holder)
{
	return (!opt.dev || dev == opt.dev) && (!opt.ino || ino == opt.ino) &&
	       (opt.mode == ANY || mode == opt.mode) &&
	       (opt.holder == ANY || holder == opt.holder);
}

/* Make room for element n of an array that holds *cap elements. */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 64;
	p = realloc(p, *cap * size);
	if (!p)
		die(EXIT_RUNTIME, "out of memory");
	return p;
}

/*
 * Read every map; with reset (own maps with -i), delete what was read so
 * the next report covers the next interval.
 */
static void read_maps(const struct session *s, struct snapshot *snap,
		      bool reset)
{
	struct mapex_stat_key k, next, *pk = NULL;
	struct mapex_hist_key hk, hnext, *phk = NULL;
	struct mapex_counters zero = { 0 };
	__u32 zero_key = 0;
	size_t i, cap = 0, hcap = 0;

	memset(snap, 0, sizeof(*snap));
	while (!bpf_map_get_next_key(s->stats_fd, pk, &next)) {
		k = next;
		pk = &k;
		snap->e = grow(snap->e, snap->n, &cap, sizeof(*snap->e));
		memset(&snap->e[snap->n], 0, sizeof(*snap->e));
		if (bpf_map_lookup_elem(s->stats_fd, &k, &snap->e[snap->n].val))
			continue;	/* deleted meanwhile */
		snap->e[snap->n++].key = k;
	}
	while (!bpf_map_get_next_key(s->hist_fd, phk, &hnext)) {
		hk = hnext;
		phk = &hk;
		snap->h = grow(snap->h, snap->nh, &hcap, sizeof(*snap->h));
		if (bpf_map_lookup_elem(s->hist_fd, &hk, &snap->h[snap->nh].val))
			continue;
		snap->h[snap->nh++].key = hk;
	}
	if (bpf_map_lookup_elem(s->counters_fd, &zero_key, &snap->c))
		die(EXIT_RUNTIME, "reading %s failed: %s", MAPEX_MAP_COUNTERS,
		    strerror(errno));
	if (!reset)
		return;
	for (i = 0; i < snap->n; i++)
		bpf_map_delete_elem(s->stats_fd, &snap->e[i].key);
	for (i = 0; i < snap->nh; i++)
		bpf_map_delete_elem(s->hist_fd, &snap->h[i].key);
	bpf_map_update_elem(s->counters_fd, &zero_key, &zero, BPF_ANY);
}

static void free_snapshot(struct snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->n; i++)
		free(snap->e[i].path);
	free(snap->e);
	free(snap->h);
}

static unsigned long long sort_value(const struct entry *e)
{
	const struct mapex_stat_val *v = &e->val;

	switch (opt.sort) {
	case SORT_CONTENDED:	return v->count;
	case SORT_MAX:		return v->max_ns;
	case SORT_AVG:		return v->count ? v->total_ns / v->count : 0;
	case SORT_MIN:		return v->min_ns;
	case SORT_TOTAL:	break;
	}
	return v->total_ns;
}

static int cmp_entry(const void *a, const void *b)
{
	unsigned long long x = sort_value(a), y = sort_value(b);
	const struct entry *ea = a, *eb = b;

	if (x != y)
		return x < y ? 1 : -1;
	if (ea->val.total_ns != eb->val.total_ns)
		return ea->val.total_ns < eb->val.total_ns ? 1 : -1;
	if (ea->key.ino != eb->key.ino)
		return ea->key.ino < eb->key.ino ? -1 : 1;
	return memcmp(&ea->key, &eb->key, sizeof(ea->key));
}

/* ---- path resolution: /proc/<pid>/fd and /proc/<pid>/maps -------------- */

static bool all_resolved(struct entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!e[i].path)
			return false;
	return true;
}

static void set_path(struct entry *e, size_t n, unsigned int dev,
		     unsigned long long ino, const char *path, bool dev_known)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (e[i].path || e[i].key.ino != ino ||
		    (dev_known && e[i].key.dev != dev))
			continue;
		e[i].path = strdup(path);
		if (!e[i].path)
			die(EXIT_RUNTIME, "out of memory");
	}
}

static bool ino_wanted(struct entry *e, size_t n, unsigned long long ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!e[i].path && e[i].key.ino == ino)
			return true;
	return false;
}

static void scan_fds(const char *pid, struct entry *e, size_t n)
{
	char dir[64], lnk[320], info[320], mi[64], target[PATH_MAX];
	struct dirent *d;
	struct stat st;
	unsigned int dev;
	ssize_t len;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	snprintf(mi, sizeof(mi), "/proc/%s/mountinfo", pid);
	fds = opendir(dir);
	if (!fds)
		return;
	while ((d = readdir(fds))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(lnk, sizeof(lnk), "%s/%s", dir, d->d_name);
		if (stat(lnk, &st) || !S_ISREG(st.st_mode) ||
		    !ino_wanted(e, n, st.st_ino))
			continue;
		len = readlink(lnk, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		snprintf(info, sizeof(info), "/proc/%s/fdinfo/%s", pid,
			 d->d_name);
		if (!mnt_dev(info, mi, &dev))
			dev = KDEV(major(st.st_dev), minor(st.st_dev));
		set_path(e, n, dev, st.st_ino, target, true);
	}
	closedir(fds);
}

static void scan_maps(const char *pid, struct entry *e, size_t n)
{
	char file[64], line[PATH_MAX + 256];
	unsigned int ma, mi;
	unsigned long long ino;
	int off;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%s/maps", pid);
	f = fopen(file, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		/* start-end perms offset MAJ:MIN inode   path */
		if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &ma, &mi, &ino,
			   &off) != 3 || !ino || !ino_wanted(e, n, ino))
			continue;
		p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (*p == '/')
			set_path(e, n, KDEV(ma, mi), ino, p, true);
	}
	fclose(f);
}

static void resolve_paths(struct entry *e, size_t n)
{
	struct dirent *d;
	DIR *proc;

	if (!n)
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	while (!all_resolved(e, n) && (d = readdir(proc))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		scan_fds(d->d_name, e, n);
		scan_maps(d->d_name, e, n);
	}
	closedir(proc);
}

/* ---- output ------------------------------------------------------------ */

static const char *fmt_time(char *buf, size_t n, unsigned long long ns)
{
	if (ns < 1000ULL)
		snprintf(buf, n, "%llu ns", ns);
	else if (ns < 1000000ULL)
		snprintf(buf, n, "%.2f us", ns / 1e3);
	else if (ns < 1000000000ULL)
		snprintf(buf, n, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
	return buf;
}

static const char *mode_str(char *buf, size_t n, unsigned int m)
{
	if (m < ARRAY_SIZE(mode_names))
		return mode_names[m];
	if (m == MAPEX_MODE_NONE)
		return "none";
	snprintf(buf, n, "mode%u", m);
	return buf;
}

static const char *op_str(char *buf, size_t n, unsigned int o)
{
	if (o < ARRAY_SIZE(op_names))
		return op_names[o];
	snprintf(buf, n, "op%u", o);
	return buf;
}

static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static unsigned long long hist_total(const struct hist *h)
{
	unsigned long long sum = 0;
	unsigned int i;

	for (i = 0; i < MAPEX_HIST_SLOTS; i++)
		sum += h->val.slots[i];
	return sum;
}

static void print_hist_text(const struct hist *h)
{
	unsigned long long max = 0, lo, hi;
	char a[16], b[16], w[16], hb[16];
	int first = -1, last = -1, i, j, bar;

	for (i = 0; i < MAPEX_HIST_SLOTS; i++) {
		if (!h->val.slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (h->val.slots[i] > max)
			max = h->val.slots[i];
	}
	printf("\n%s->%s waits: %llu\n", mode_str(w, sizeof(w), h->key.mode),
	       mode_str(hb, sizeof(hb), h->key.holder_mode), hist_total(h));
	if (first < 0)
		return;
	printf("%25s : %-10s distribution\n", "wait", "count");
	for (i = first; i <= last; i++) {
		/* Slot i holds [2^i, 2^(i+1)) ns; slot 0 also holds 0. */
		lo = i ? 1ULL << i : 0;
		hi = i == 63 ? ~0ULL : 1ULL << (i + 1);
		bar = max ? (int)(h->val.slots[i] * 40 / max) : 0;
		printf("%11s -> %-10s : %-10llu |", fmt_time(a, sizeof(a), lo),
		       fmt_time(b, sizeof(b), hi), h->val.slots[i]);
		for (j = 0; j < 40; j++)
			putchar(j < bar ? '*' : ' ');
		puts("|");
	}
}

static void print_text(const struct snapshot *snap, size_t rows,
		       const struct session *s, double secs)
{
	char t1[16], t2[16], t3[16], m1[16], m2[16], pair[40], devino[48];
	char range[48], o[16];
	const struct mapex_counters *c = &snap->c;
	unsigned long long failed = 0;
	size_t i;

	if (s->pinned)
		printf("# pinned collection (totals since --pin)\n");
	else
		printf("# %.1f s\n", secs);
	printf("%10s %12s %12s %12s  %-26s %-20s %-24s %-9s %s\n",
	       "contended", "total wait", "max wait", "avg wait",
	       "waiter->holder", "dev:ino", "range", "op", "path");
	for (i = 0; i < rows; i++) {
		const struct entry *e = &snap->e[i];
		const struct mapex_stat_val *v = &e->val;

		snprintf(pair, sizeof(pair), "%s->%s",
			 mode_str(m1, sizeof(m1), e->key.mode),
			 mode_str(m2, sizeof(m2), e->key.holder_mode));
		snprintf(devino, sizeof(devino), "%u:%u:%llu",
			 KDEV_MAJOR(e->key.dev), KDEV_MINOR(e->key.dev),
			 e->key.ino);
		snprintf(range, sizeof(range), "%llu-%llu", v->last_start,
			 v->last_end);
		printf("%10llu %12s %12s %12s  %-26s %-20s %-24s %-9s %s\n",
		       v->count, fmt_time(t1, sizeof(t1), v->total_ns),
		       fmt_time(t2, sizeof(t2), v->max_ns),
		       fmt_time(t3, sizeof(t3),
				v->count ? v->total_ns / v->count : 0),
		       pair, devino, range,
		       op_str(o, sizeof(o), v->last_op),
		       e->path ? e->path : "-");
	}
	for (i = 0; i < snap->n; i++)
		failed += snap->e[i].val.failed;
	if (rows < snap->n)
		printf("# entries not shown (-E): %zu\n", snap->n - rows);
	if (failed)
		printf("# waits that failed (killed): %llu\n", failed);
	if (c->stat_drops || c->hist_drops)
		printf("# dropped: %llu waits (%s full, -M), %llu histogram updates\n",
		       c->stat_drops, MAPEX_MAP_STATS, c->hist_drops);
	if (c->refused)
		printf("# requests refused (failed fast): %llu\n",
		       c->refused);
	for (i = 0; i < MAPEX_NR_CHECKPOINTS; i++)
		if (c->unguarded[i])
			printf("# unguarded at %s: %llu\n", cp_names[i],
			       c->unguarded[i]);
	for (i = 0; opt.hist && i < snap->nh; i++)
		if (want(opt.dev, opt.ino, snap->h[i].key.mode,
			 snap->h[i].key.holder_mode))
			print_hist_text(&snap->h[i]);
	fflush(stdout);
}

static void print_json(const struct snapshot *snap, size_t rows,
		       const struct session *s, double secs)
{
	const struct mapex_counters *c = &snap->c;
	char m1[16], m2[16], o[16];
	size_t i, j;

	printf("{\"source\":\"%s\",\"seconds\":%.3f,\"entries\":[",
	       s->pinned ? "pinned" : "loaded", secs);
	for (i = 0; i < rows; i++) {
		const struct entry *e = &snap->e[i];
		const struct mapex_stat_val *v = &e->val;

		printf("%s{\"dev\":\"%u:%u\",\"ino\":%llu,\"waiter\":\"%s\",\"holder\":\"%s\","
		       "\"contended\":%llu,\"total_ns\":%llu,\"max_ns\":%llu,\"min_ns\":%llu,"
		       "\"avg_ns\":%llu,\"failed\":%llu,\"last_start\":%llu,\"last_end\":%llu,"
		       "\"last_op\":\"%s\",\"last_result\":%d,\"path\":",
		       i ? "," : "", KDEV_MAJOR(e->key.dev),
		       KDEV_MINOR(e->key.dev), e->key.ino,
		       mode_str(m1, sizeof(m1), e->key.mode),
		       mode_str(m2, sizeof(m2), e->key.holder_mode),
		       v->count, v->total_ns, v->max_ns, v->min_ns,
		       v->count ? v->total_ns / v->count : 0, v->failed,
		       v->last_start, v->last_end,
		       op_str(o, sizeof(o), v->last_op), v->last_result);
		json_str(e->path);
		putchar('}');
	}
	printf("],\"more_entries\":%zu,\"histograms\":[", snap->n - rows);
	for (i = 0, j = 0; i < snap->nh; i++) {
		const struct hist *h = &snap->h[i];
		unsigned int k;
		bool first = true;

		if (!want(opt.dev, opt.ino, h->key.mode, h->key.holder_mode))
			continue;
		printf("%s{\"waiter\":\"%s\",\"holder\":\"%s\",\"count\":%llu,\"slots\":[",
		       j++ ? "," : "", mode_str(m1, sizeof(m1), h->key.mode),
		       mode_str(m2, sizeof(m2), h->key.holder_mode),
		       hist_total(h));
		for (k = 0; k < MAPEX_HIST_SLOTS; k++) {
			if (!h->val.slots[k])
				continue;
			printf("%s{\"low_ns\":%llu,\"high_ns\":%llu,\"count\":%llu}",
			       first ? "" : ",", k ? 1ULL << k : 0,
			       k == 63 ? ~0ULL : (1ULL << (k + 1)) - 1,
			       h->val.slots[k]);
			first = false;
		}
		printf("]}");
	}
	printf("],\"counters\":{\"begin\":%llu,\"end\":%llu,\"filtered\":%llu,"
	       "\"stat_drops\":%llu,\"hist_drops\":%llu,\"refused\":%llu,"
	       "\"unguarded\":{",
	       c->begin, c->end, c->filtered, c->stat_drops, c->hist_drops,
	       c->refused);
	for (i = 0; i < MAPEX_NR_CHECKPOINTS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", cp_names[i],
		       c->unguarded[i]);
	printf("}}}\n");
	fflush(stdout);
}

static void report(const struct session *s, bool reset, double secs)
{
	struct snapshot snap;
	size_t i, kept = 0, rows;

	read_maps(s, &snap, reset);
	for (i = 0; i < snap.n; i++)
		if (want(snap.e[i].key.dev, snap.e[i].key.ino,
			 snap.e[i].key.mode, snap.e[i].key.holder_mode))
			snap.e[kept++] = snap.e[i];
	snap.n = kept;
	qsort(snap.e, snap.n, sizeof(*snap.e), cmp_entry);
	rows = opt.entries && opt.entries < snap.n ? opt.entries : snap.n;
	resolve_paths(snap.e, rows);
	if (opt.json)
		print_json(&snap, rows, s, secs);
	else
		print_text(&snap, rows, s, secs);
	free_snapshot(&snap);
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
	struct session s = { .stats_fd = -1 };
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
	libbpf_set_print(libbpf_print);

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
		if (opt.pid)
			die(EXIT_USAGE, "-p cannot filter a pinned collection (filters are fixed at --pin)");
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
