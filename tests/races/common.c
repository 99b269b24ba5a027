// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/common.c - shared helpers of the race reproducers (see
 * common.h): options, budget, patterns and oracle checks, fdatasync EIO
 * counting, the kernel-alarm counters (a hist trigger on
 * iomap_dio_invalidate_fail, a kprobe event with a hist trigger on
 * dio_warn_stale_pagecache, and their cleanup at exit or on a signal,
 * or their sharing with a caller that armed them: RACES_ALARMS=shared,
 * and --arm-alarms / --disarm-alarms, which arm and remove them for such a
 * caller), SIGBUS probes, thread start/join and the report line.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

size_t page_size;
atomic_int stop_flag;

static const char *prog;
static const struct race_opts *bopts;
static struct timespec t_start;

static void alarms_action_exit(int arm);

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog ? prog : "race");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long parse_num(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min)
		die("%s needs an integer >= %ld, got '%s'", opt, min, s);
	return v;
}

void race_parse(int argc, char **argv, struct race_opts *o, unsigned accept,
		const char *usage_extra)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "threads", required_argument, NULL, 't' },
		{ "readers", required_argument, NULL, 'r' },
		{ "pages", required_argument, NULL, 'p' },
		{ "fsync-every", required_argument, NULL, 'y' },
		{ "variant", required_argument, NULL, 'V' },
		{ "window", no_argument, NULL, 'w' },
		{ "always", no_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "stop-on-hit", no_argument, NULL, 'x' },
		{ "group", required_argument, NULL, 'g' },
		{ "groups", required_argument, NULL, 'G' },
		{ "arm-alarms", no_argument, NULL, 'A' },
		{ "disarm-alarms", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	while ((c = getopt_long(argc, argv, "f:s:i:t:r:p:y:V:wavxg:G:h", lo, NULL)) != -1) {
		unsigned need = 0;

		switch (c) {
		case 't': need = OPT_THREADS; break;
		case 'r': need = OPT_READERS; break;
		case 'p': need = OPT_PAGES; break;
		case 'y': need = OPT_FSYNC; break;
		case 'V': need = OPT_VARIANT; break;
		case 'w': need = OPT_WINDOW; break;
		case 'a': need = OPT_WINDOW; break;
		case 'g': need = OPT_GROUPS; break;
		case 'G': need = OPT_GROUPS; break;
		}
		if (need && !(accept & need))
			die("option -%c is not used by this case (see --help)", c);
		switch (c) {
		case 'f': o->file = optarg; break;
		case 's':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno || *end || o->seconds < 0)
				die("--seconds needs a number >= 0");
			break;
		case 'i': o->iterations = parse_num("--iterations", optarg, 0); break;
		case 't': o->threads = (int)parse_num("--threads", optarg, 1); break;
		case 'r': o->readers = (int)parse_num("--readers", optarg, 0); break;
		case 'p': o->pages = (int)parse_num("--pages", optarg, 1); break;
		case 'y': o->fsync_every = (int)parse_num("--fsync-every", optarg, 0); break;
		case 'V': o->variant = optarg; break;
		case 'w': o->window = 1; break;
		case 'a': o->window = 0; break;
		case 'v': o->verbose = 1; break;
		case 'x': o->stop_on_hit = 1; break;
		case 'g': o->group = (int)parse_num("--group", optarg, 2); break;
		case 'G': o->groups = (int)parse_num("--groups", optarg, 1); break;
		case 'A': alarms_action_exit(1); break;
		case 'D': alarms_action_exit(0); break;
		case 'h':
			printf("usage: %s [--file PATH] [--seconds S] [--iterations N] [--stop-on-hit] [-v]%s\n"
			       "Stops at whichever budget is reached first (0 = no limit), or with\n--stop-on-hit at the first violation or EIO.\n"
			       "Prints: case=N variant=V iterations=I violations=X eio=E tp=T warn=W [NAME=C ...] seconds=S\n"
			       "Exit: 0 nothing seen, 1 violations, EIO or warn seen, 2 setup error.\n"
			       "%s --arm-alarms | --disarm-alarms: install (for runs with\n"
			       "RACES_ALARMS=shared) or remove the kernel-alarm counters, and exit.\n",
			       prog, usage_extra ? usage_extra : "", prog);
			exit(0);
		default:
			die("bad option (see --help)");
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (!o->seconds && !o->iterations)
		die("need a budget: --seconds or --iterations");
}

void budget_start(const struct race_opts *o)
{
	bopts = o;
	clock_gettime(CLOCK_MONOTONIC, &t_start);
}

double budget_elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t_start.tv_sec) +
	       (double)(t.tv_nsec - t_start.tv_nsec) / 1e9;
}

int budget_left(long done)
{
	if (bopts->iterations && done >= bopts->iterations)
		return 0;
	if (bopts->seconds && budget_elapsed() >= bopts->seconds)
		return 0;
	return 1;
}

int open_file(const char *path, int flags)
{
	int fd = open(path, O_RDWR | O_CREAT | flags, 0644);

	if (fd < 0)
		die("open %s%s: %s", path, (flags & O_DIRECT) ? " (O_DIRECT)" : "",
		    strerror(errno));
	return fd;
}

void *alloc_aligned(size_t len)
{
	void *p;

	if (posix_memalign(&p, page_size, len))
		die("out of memory");
	memset(p, 0, len);
	return p;
}

void pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	if (n != (ssize_t)len)
		die("pwrite %zu@%lld: %s", len, (long long)off,
		    n < 0 ? strerror(errno) : "short write");
}

void pread_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n != (ssize_t)len)
		die("pread %zu@%lld: %s", len, (long long)off,
		    n < 0 ? strerror(errno) : "short read");
}

uint64_t pattern_word(uint64_t gen, uint64_t page, size_t word)
{
	if (!gen)
		return 0;
	return (gen << 32) | ((page & 0xffffff) << 8) | 0x5a | ((uint64_t)(word & 1) << 7);
}

void fill_pages(void *buf, uint64_t gen, long first_page, int npages)
{
	size_t words = page_size / 8;
	uint64_t *w = buf;

	for (int p = 0; p < npages; p++)
		for (size_t i = 0; i < words; i++)
			w[p * words + i] = pattern_word(gen, first_page + p, i);
}

long check_pages(const void *buf, uint64_t gen, long first_page, int npages,
		 const char *what)
{
	return check_pages_from(buf, gen, first_page, npages, SCRIBBLE, what);
}

long check_pages_from(const void *buf, uint64_t gen, long first_page,
		      int npages, size_t skip, const char *what)
{
	static int printed;
	size_t words = page_size / 8;
	const uint64_t *w = buf;
	long bad = 0;

	for (int p = 0; p < npages; p++) {
		for (size_t i = skip / 8; i < words; i++) {
			uint64_t want = pattern_word(gen, first_page + p, i);
			uint64_t got = w[p * words + i];

			if (got == want)
				continue;
			bad++;
			if (printed < 5 || (bopts && bopts->verbose)) {
				printed++;
				fprintf(stderr, "%s: %s: page %ld word %zu: want gen %llu "
					"(0x%016llx) got 0x%016llx (gen %llu)\n",
					prog, what, first_page + p, i,
					(unsigned long long)gen, (unsigned long long)want,
					(unsigned long long)got,
					(unsigned long long)(got >> 32));
			}
			break;
		}
	}
	return bad;
}

void datasync_count(int fd, long *eio)
{
	if (fdatasync(fd) == 0)
		return;
	/*
	 * EUCLEAN: btrfs 6.12 refusing at write-back a page the kernel wrote
	 * behind its back (a pinned page a direct read filled, even from a
	 * block device), a failed write-back like EIO; tests/vm/races.t does
	 * not assert eio on btrfs.
	 */
	if (errno == EIO || errno == EUCLEAN)
		(*eio)++;
	else
		die("fdatasync: %s", strerror(errno));
}

/* ---- kernel-alarm counters (hist triggers, kprobe event) ---- */

static const char *const tracefs_roots[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

/*
 * One hist-trigger counter: the total hit count of a hist trigger on one
 * event, relative to its value at start.  Every path is built at start, so
 * that the cleanup (which may run in a signal handler) only needs
 * open/write/close.
 */
struct hist_counter {
	char trigger[300];	/* .../events/GROUP/EVENT/trigger */
	char hist[300];		/* .../events/GROUP/EVENT/hist */
	const char *remove;	/* "!" + the trigger, written at stop */
	long base;		/* total at start; -1: unavailable */
	int ours;		/* remove the trigger at stop */
};

#define TP_TRIGGER	"hist:keys=ino"
#define WARN_TRIGGER	"hist:keys=common_pid"
#define WARN_EVENT	"mapex_races/dio_warn"
#define WARN_PROBE	"p:" WARN_EVENT " dio_warn_stale_pagecache"

static struct hist_counter tp_ctr = { .base = -1, .remove = "!" TP_TRIGGER };
static struct hist_counter warn_ctr = { .base = -1, .remove = "!" WARN_TRIGGER };
static char kprobe_events[300];	/* non-empty: remove WARN_EVENT at stop */
static atomic_int tp_armed;	/* something to clean up */
static int alarms_adopt_all;	/* --disarm-alarms: whatever is there is ours */

static int write_flags(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int write_str(const char *path, const char *s)
{
	return write_flags(path, s, 0);
}

static long hist_total(const struct hist_counter *c)
{
	char line[256];
	long hits = -1;
	FILE *f;

	f = fopen(c->hist, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " Hits: %ld", &hits) == 1)
			break;
	fclose(f);
	return hits;
}

/*
 * Install trigger on the event in directory dir.  An identical trigger that
 * is already there (EEXIST) is shared: counted from its current total and,
 * unless 'adopt' says it is a leftover of ours, left in place at stop.
 */
static int hist_start(struct hist_counter *c, const char *dir,
		      const char *trigger, int adopt)
{
	int ret;

	snprintf(c->trigger, sizeof(c->trigger), "%s/trigger", dir);
	snprintf(c->hist, sizeof(c->hist), "%s/hist", dir);
	if (access(c->trigger, W_OK))
		return -1;
	ret = write_str(c->trigger, trigger);
	if (ret && ret != -EEXIST)
		return -1;
	c->ours = !ret || adopt;
	if (c->ours)
		atomic_store(&tp_armed, 1);
	c->base = hist_total(c);
	return c->base >= 0 ? 0 : -1;
}

static long hist_hits(const struct hist_counter *c)
{
	long now;

	if (c->base < 0)
		return -1;
	now = hist_total(c);
	return now < 0 ? -1 : now - c->base;
}

/*
 * The alarms were armed by the caller and outlive this run: with
 * RACES_ALARMS=shared in the environment (tests/vm/races.t arms them once
 * for all its runs, so that no run patches kernel text under its own
 * load), a kprobe event or trigger that is already there is counted from
 * its current total and left in place at stop.
 */
static int alarms_shared(void)
{
	const char *v = getenv("RACES_ALARMS");

	return !alarms_adopt_all && v && !strcmp(v, "shared");
}

/*
 * The dio_warn_stale_pagecache counter.  The kprobe event lives in a group
 * of our own (mapex_races), so a definition that is already there is,
 * unless the alarms are shared, a leftover of a run that was killed: it is
 * reused, and removed at stop with its trigger.  (Runs must not overlap:
 * the first to stop removes it.)
 */
static void warn_start(const char *root)
{
	int adopt = !alarms_shared();
	char dir[300];
	int ret;

	snprintf(kprobe_events, sizeof(kprobe_events), "%s/kprobe_events", root);
	ret = write_flags(kprobe_events, WARN_PROBE "\n", O_APPEND);
	if (ret && ret != -EEXIST) {
		kprobe_events[0] = '\0';
		return;
	}
	if (ret && !adopt)
		kprobe_events[0] = '\0';	/* shared: not ours to remove */
	else
		atomic_store(&tp_armed, 1);
	snprintf(dir, sizeof(dir), "%s/events/" WARN_EVENT, root);
	if (hist_start(&warn_ctr, dir, WARN_TRIGGER, adopt))
		warn_ctr.base = -1;
}

/* Async-signal-safe: open/write/close only, and runs at most once. */
static void tp_cleanup(void)
{
	if (!atomic_exchange(&tp_armed, 0))
		return;
	if (tp_ctr.ours)
		write_str(tp_ctr.trigger, tp_ctr.remove);
	if (warn_ctr.ours)
		write_str(warn_ctr.trigger, warn_ctr.remove);
	if (kprobe_events[0])
		write_flags(kprobe_events, "-:" WARN_EVENT "\n", O_APPEND);
}

static void tp_signal(int sig)
{
	tp_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Clean up on the signals that end a run (unless they are ignored). */
static void tp_catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tp_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_DFL)
			sigaction(sigs[i], &sa, NULL);
}

int tp_start(void)
{
	static int once;
	const size_t nroots = sizeof(tracefs_roots) / sizeof(*tracefs_roots);
	char path[300];
	int ret = -1;

	if (!once++) {
		atexit(tp_stop);
		tp_catch_signals();
	}
	/* The first tracefs root that has the event is the one. */
	for (size_t i = 0; i < nroots; i++) {
		snprintf(path, sizeof(path), "%s/events/iomap/iomap_dio_invalidate_fail",
			 tracefs_roots[i]);
		if (access(path, F_OK))
			continue;
		ret = hist_start(&tp_ctr, path, TP_TRIGGER, alarms_adopt_all);
		break;
	}
	if (ret)
		tp_ctr.base = -1;
	for (size_t i = 0; i < nroots; i++) {
		snprintf(path, sizeof(path), "%s/kprobe_events", tracefs_roots[i]);
		if (!access(path, W_OK)) {
			warn_start(tracefs_roots[i]);
			break;
		}
	}
	return ret;
}

long tp_hits(void)
{
	return hist_hits(&tp_ctr);
}

long warn_hits(void)
{
	return hist_hits(&warn_ctr);
}

void tp_stop(void)
{
	tp_cleanup();
	tp_ctr.base = warn_ctr.base = -1;
	tp_ctr.ours = warn_ctr.ours = 0;
	kprobe_events[0] = '\0';
}

/*
 * --arm-alarms: install the alarms and leave them for the runs that follow
 * (with RACES_ALARMS=shared); prints which are available ("alarms: tp
 * warn", or "none").  --disarm-alarms: remove them, whoever installed them.
 * Both exit: 0 when done, 2 when tracefs has no alarm at all.
 */
static void alarms_action_exit(int arm)
{
	int tp_ok, warn_ok;

	alarms_adopt_all = !arm;
	tp_start();
	tp_ok = tp_ctr.base >= 0;
	warn_ok = warn_ctr.base >= 0;
	if (arm)
		atomic_store(&tp_armed, 0);	/* keep them at exit */
	else
		tp_stop();
	printf("alarms %s: %s%s%s\n", arm ? "armed" : "removed",
	       tp_ok ? "tp" : "", tp_ok && warn_ok ? " " : "",
	       warn_ok ? "warn" : (tp_ok ? "" : "none"));
	exit(tp_ok || warn_ok ? 0 : 2);
}

/* ---- SIGBUS probes ---- */

static __thread sigjmp_buf *volatile bus_jmp;	/* volatile: stores must stay around the access */

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

void sigbus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL))
		die("sigaction: %s", strerror(errno));
}

int probe_sigbus(const volatile char *p, char *val)
{
	sigjmp_buf jb;
	char v;

	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		return 1;
	}
	bus_jmp = &jb;
	v = *p;
	bus_jmp = NULL;
	if (val)
		*val = v;
	return 0;
}

int probe_sigbus_store(volatile char *p, char v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		return 1;
	}
	bus_jmp = &jb;
	*p = v;
	bus_jmp = NULL;
	return 0;
}

int window_open(atomic_int *inflight, void *map, int npages, unsigned char *vec)
{
	if (!atomic_load_explicit(inflight, memory_order_relaxed))
		return 0;
	if (mincore(map, (size_t)npages * page_size, vec))
		return 0;
	for (int p = 0; p < npages; p++)
		if (vec[p] & 1)
			return 0;
	return 1;
}

/* ---- the direct-write loop of cases 3 and 7 ---- */

void dio_race_setup(struct dio_race *r, const struct race_opts *o)
{
	r->len = (size_t)o->pages * page_size;
	r->wbuf = alloc_aligned(r->len);
	r->rbuf = alloc_aligned(r->len);
	unlink(o->file);
	r->fd_buf = open_file(o->file, 0);
	r->fd_dio = open_file(o->file, O_DIRECT);
	fill_pages(r->wbuf, 1, 0, o->pages);
	pwrite_all(r->fd_buf, r->wbuf, r->len, 0);
	if (fsync(r->fd_buf))
		die("fsync: initial write failed");
	tp_start();
}

int dio_race_run(struct dio_race *r, const struct race_opts *o, int casenr,
		 const char *variant)
{
	long iters = 0, viol = 0, eio = 0;
	int ret;

	budget_start(o);
	while (budget_left(iters) && !(o->stop_on_hit && (viol || eio))) {
		uint64_t gen = (uint64_t)iters + 2;

		fill_pages(r->wbuf, gen, 0, o->pages);
		atomic_store(&r->inflight, 1);
		r->write(r->fd_dio, r->wbuf, r->len);
		atomic_store(&r->inflight, 0);
		pread_all(r->fd_buf, r->rbuf, r->len, 0);
		viol += check_pages_from(r->rbuf, gen, 0, o->pages,
					 r->check_from ? r->check_from : SCRIBBLE,
					 "read after direct write");
		iters++;
		if (o->fsync_every && iters % o->fsync_every == 0)
			datasync_count(r->fd_buf, &eio);
	}
	join_threads();
	datasync_count(r->fd_buf, &eio);
	ret = report(casenr, variant, iters, viol, eio, tp_hits(), warn_hits());
	tp_stop();
	close(r->fd_dio);
	close(r->fd_buf);
	unlink(o->file);
	free(r->wbuf);
	free(r->rbuf);
	return ret;
}

/* ---- the zeroing-operation loop of cases 1, 2, 5 and 6 ---- */

int race_pages;

void inval_race_setup(struct inval_race *r, const struct race_opts *o)
{
	race_pages = o->pages;
	r->len = (size_t)o->pages * page_size;
	r->cut = o->pages / 2;
	r->wbuf = alloc_aligned(r->len);
	r->rbuf = alloc_aligned(r->len);
	r->file = o->file;
	unlink(o->file);
	r->fd = open_file(o->file, 0);
	fill_pages(r->wbuf, 1, 0, o->pages);
	pwrite_all(r->fd, r->wbuf, r->len, 0);
	if (fsync(r->fd))
		die("fsync: initial write failed");
	r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED)
		die("mmap failed");
	sigbus_install();
	tp_start();
}

static long inval_check(struct inval_race *r, const char *buf, uint64_t gen,
			const char *what)
{
	int pages = (int)(r->len / page_size);

	return check_pages(buf, gen, 0, r->cut, what) +
	       check_pages(buf + (size_t)r->cut * page_size, 0, r->cut,
			   pages - r->cut, what);
}

int inval_race_run(struct inval_race *r, const struct race_opts *o, int casenr)
{
	long iters = 0, viol = 0, eio = 0;
	int ret;

	budget_start(o);
	while (budget_left(iters) && !(o->stop_on_hit && (viol || eio))) {
		uint64_t gen = (uint64_t)iters + 2;

		fill_pages(r->wbuf, gen, 0, o->pages);
		pwrite_all(r->fd, r->wbuf, r->len, 0);
		r->op(r, &viol);
		pread_all(r->fd, r->rbuf, r->len, 0);
		viol += inval_check(r, r->rbuf, gen, "pread after op");
		viol += inval_check(r, r->map, gen, "mmap read after op");
		iters++;
		if (o->fsync_every && iters % o->fsync_every == 0)
			datasync_count(r->fd, &eio);
		if (r->drop) {
			datasync_count(r->fd, &eio);
			posix_fadvise(r->fd, 0, 0, POSIX_FADV_DONTNEED);
			pread_all(r->fd, r->rbuf, r->len, 0);
			viol += inval_check(r, r->rbuf, gen, "pread from disk after op");
		}
	}
	join_threads();
	datasync_count(r->fd, &eio);
	ret = report(casenr, "sync", iters, viol, eio, tp_hits(), warn_hits());
	tp_stop();
	munmap(r->map, r->len);
	close(r->fd);
	unlink(o->file);
	return ret;
}

void op_punch(struct inval_race *r, long *viol)
{
	off_t off = (off_t)r->cut * (off_t)page_size;

	(void)viol;
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      (off_t)r->len - off))
		die("fallocate(PUNCH_HOLE): %s", strerror(errno));
}

void op_truncate(struct inval_race *r, long *viol)
{
	int pages = (int)(r->len / page_size);

	if (ftruncate(r->fd, (off_t)r->cut * (off_t)page_size))
		die("ftruncate down: %s", strerror(errno));
	for (int p = r->cut; p < pages; p++) {
		if (!probe_sigbus(r->map + (size_t)p * page_size + SCRIBBLE, NULL)) {
			(*viol)++;
			fprintf(stderr, "%s: page %d past EOF readable through the mapping\n",
				prog, p);
		}
	}
	if (ftruncate(r->fd, (off_t)r->len))
		die("ftruncate up: %s", strerror(errno));
}

void *fault_thread(void *arg)
{
	struct inval_race *r = arg;
	uint64_t n = 0;
	char v;

	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		for (int p = 0; p < race_pages; p++) {
			char *pg = r->map + (size_t)p * page_size;

			probe_sigbus(pg + SCRIBBLE, &v);
			probe_sigbus_store(pg, (char)++n);
		}
	}
	return NULL;
}

/*
 * Writeback is driven with sync_file_range alone, never fsync: a thread
 * looping fdatasync on btrfs livelocks a concurrent fsync's log commit on
 * stock 6.1 and 6.12.  Each fdatasync that finds the inode already logged
 * bumps root->log_batch and returns at once, and btrfs_sync_log() keeps
 * sleeping one jiffy until log_batch stops changing, so it never commits;
 * the transaction kthread and every later fsync wait behind it.  Only the
 * main thread fsyncs.
 */
void *writeback_thread(void *arg)
{
	struct inval_race *r = arg;
	int fd = open_file(r->file, 0);

	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	close(fd);
	return NULL;
}

/* ---- threads and report ---- */

static pthread_t tids[64];
static int ntids;

void start_threads(int n, void *(*fn)(void *), void *arg)
{
	for (int i = 0; i < n; i++) {
		if (ntids == (int)(sizeof(tids) / sizeof(*tids)))
			die("too many threads");
		if (pthread_create(&tids[ntids], NULL, fn, arg))
			die("pthread_create failed");
		ntids++;
	}
}

void join_threads(void)
{
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < ntids; i++)
		pthread_join(tids[i], NULL);
	ntids = 0;
}

static struct {
	const char *name;
	const atomic_long *value;
} extras[4];
static int nextras;

void report_extra(const char *name, const atomic_long *value)
{
	if (nextras == (int)(sizeof(extras) / sizeof(*extras)))
		die("too many report fields");
	extras[nextras].name = name;
	extras[nextras].value = value;
	nextras++;
}

static const char *count_str(char *buf, size_t len, long v)
{
	if (v < 0)
		snprintf(buf, len, "na");
	else
		snprintf(buf, len, "%ld", v);
	return buf;
}

int report(int casenr, const char *variant, long iters, long violations,
	   long eio, long tp, long warn)
{
	char tps[32], warns[32];

	printf("case=%d variant=%s iterations=%ld violations=%ld eio=%ld tp=%s warn=%s",
	       casenr, variant, iters, violations, eio,
	       count_str(tps, sizeof(tps), tp), count_str(warns, sizeof(warns), warn));
	for (int i = 0; i < nextras; i++)
		printf(" %s=%ld", extras[i].name, atomic_load(extras[i].value));
	printf(" seconds=%.1f\n", budget_elapsed());
	fflush(stdout);
	return (violations || eio || warn > 0) ? 1 : 0;
}
