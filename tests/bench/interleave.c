// SPDX-License-Identifier: GPL-2.0
/*
 * tests/bench/interleave.c - on/off overhead at fine grain, for
 * tests/bench/vm-bench: one thread runs one 4k workload without pause and
 * flips a switch every SLICE ms in ABBA order (off on on off ...), counting
 * operations per slice.  The switch is either mapex's per-filesystem
 * `enabled` (a plain flag, module/profile.c): mapex's own cost; or the
 * programs of a pinned mapexstat collection, attached and detached
 * (tests/bench/bpf-links.c): mapexstat's cost.  Under TCG, throughput
 * drifts by tens of percent over seconds (the host, the emulator's code
 * cache); slices tens of milliseconds apart see nearly the same
 * conditions, so the paired ratios are far tighter than those of rounds
 * seconds apart, and many pairs give a confidence interval.
 *
 * Workloads, on FILE (of at least 1 MiB; the whole file is used):
 *   dread     4k O_DIRECT pread at random aligned offsets
 *   dwrite    4k O_DIRECT pwrite at random aligned offsets
 *   cread     4k cached pread at random offsets (the file is read once first)
 *   fault     read fault on a random page of a shared read-only mapping,
 *             the page's mapping zapped after each touch (MADV_DONTNEED):
 *             with fault-around off, every touch reaches ->fault
 *   conflict  4k cached pread here and 4k O_DIRECT pwrite in a second
 *             thread, both at random pages of the file's first 16: they
 *             exclude each other where they overlap (contention); a
 *             slice counts both threads' operations
 *
 * Usage: interleave WORKLOAD FILE SWITCH SECONDS [SLICE-MS [SETTLE-MS]]
 *   SWITCH: a file that takes "0" and "1" (mapex's enabled), or a bpffs
 *   directory where `mapexstat --pin` left its links: off is detached.
 *   SETTLE-MS: a pause after each flip, in no slice (default 0 for the
 *   file, 20 for links; nap() below says why).  One ABBA group of
 *   slices runs first and is not counted (the first attach patches code
 *   the emulator has not translated yet).
 * Prints one line:
 *   INTERLEAVE workload=W slice_ms=M settle_ms=S pairs=P off_ops=A on_ops=B
 *     median=R gmean=R ci95=LO-HI
 * where R are on/off throughput ratios of the pairs (below 1: "on" costs
 * 1-R): their median, and their geometric mean with its normal 95 %
 * interval (from the mean and standard error of log(on/off): a ratio and
 * its inverse weigh the same, where an arithmetic mean of ratios leans
 * upward when a slice has few operations).  Exit 0, or 2 on a setup error;
 * a benchmark never judges its own timing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "bpf-links.h"

#define BLK		4096
#define CONFLICT_PAGES	16
/* default SETTLE-MS for mapexstat's programs, in seconds (see nap()) */
#define SETTLE_LINKS	0.02
/* slices run and not counted first: one ABBA group */
#define WARMUP_SLICES	4

static void die(const char *what)
{
	fprintf(stderr, "interleave: %s: %s\n", what, strerror(errno));
	exit(2);
}

/*
 * The slice clock: a one-shot timer signal, armed after each flip, ends
 * the slice, so the loop reads no clock (under TCG the guest's clocksource
 * is often the HPET, an emulated device read that costs as much as a
 * cached 4k read) and the flip's own time is in no slice: attaching a
 * program takes far longer than writing a flag.
 */
static volatile sig_atomic_t slice_over;
static timer_t slice_timer;
static struct itimerspec slice_length;

static void on_tick(int sig)
{
	(void)sig;
	slice_over = 1;
}

static void slice_timer_init(double slice)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction");
	if (timer_create(CLOCK_MONOTONIC, &sev, &slice_timer))
		die("timer_create");
	slice_length.it_value.tv_sec = (time_t)slice;
	slice_length.it_value.tv_nsec = (long)((slice - (time_t)slice) * 1e9);
}

/*
 * The pause after a flip, before the slice starts: detaching a program
 * leaves work behind (RCU callbacks free the tracepoint's old probe
 * array) that attaching does not, and under TCG each flip's text patching
 * makes the emulator translate the patched code again.  Without a pause,
 * that work falls into the slice after the flip and weighs on one state
 * more than the other.
 */
static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void slice_start(void)
{
	slice_over = 0;
	if (timer_settime(slice_timer, 0, &slice_length, NULL))
		die("timer_settime");
}

/* ---- the switch: mapex's enabled flag, or mapexstat's programs ---------- */

struct flip_switch {
	int enabled_fd;			/* or -1 */
	struct pinned_links *links;	/* or NULL */
};

static void switch_open(struct flip_switch *sw, const char *path)
{
	struct stat st;

	sw->enabled_fd = -1;
	sw->links = NULL;
	if (stat(path, &st))
		die(path);
	if (S_ISDIR(st.st_mode)) {
		sw->links = links_take(path);
		if (!sw->links)
			exit(2);
		return;
	}
	sw->enabled_fd = open(path, O_WRONLY);
	if (sw->enabled_fd < 0)
		die(path);
}

static void switch_set(struct flip_switch *sw, int on)
{
	if (sw->links) {
		if (links_set(sw->links, on))
			exit(2);
	} else if (pwrite(sw->enabled_fd, on ? "1\n" : "0\n", 2, 0) != 2) {
		die("writing enabled");
	}
}

/* Leave it on: mapex enabled, or the collection attached and pinned. */
static void switch_close(struct flip_switch *sw)
{
	if (sw->links) {
		if (links_give_back(sw->links))
			exit(2);
	} else {
		switch_set(sw, 1);
		close(sw->enabled_fd);
	}
}

/* ---- the conflict workload's writer thread ------------------------------ */

struct writer {
	int fd;			/* O_DIRECT */
	char *buf;
	volatile int stop;
	long done;		/* read by the slice loop (atomic) */
};

static void *writer_run(void *arg)
{
	struct writer *wr = arg;
	uint64_t state = 0x2545f4914f6cdd1dULL;

	while (!wr->stop) {
		off_t off = (off_t)(bench_rand_r(&state) % CONFLICT_PAGES) * BLK;

		if (pwrite(wr->fd, wr->buf, BLK, off) != BLK)
			die("pwrite (conflict writer)");
		__atomic_fetch_add(&wr->done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static long writer_done(struct writer *wr)
{
	return wr ? __atomic_load_n(&wr->done, __ATOMIC_RELAXED) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *w, *path;
	double seconds, slice, settle, *ratio;
	long nblocks, *ops, nslices, npairs = 0, i;
	long long sum_off = 0, sum_on = 0;
	double mean = 0, var = 0, se;
	char *buf, *map = NULL;
	int fd, direct, writes, conflict;
	struct writer wr = { .fd = -1 }, *writer = NULL;
	struct flip_switch sw;
	pthread_t writer_thread;
	struct stat st;

	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: interleave dread|dwrite|cread|fault|conflict FILE SWITCH SECONDS [SLICE-MS [SETTLE-MS]]\n");
		return 2;
	}
	w = argv[1];
	path = argv[2];
	seconds = atof(argv[4]);
	slice = (argc >= 6 ? atof(argv[5]) : 50) / 1000;
	settle = argc == 7 ? atof(argv[6]) / 1000 : -1;
	if (strcmp(w, "dread") && strcmp(w, "dwrite") && strcmp(w, "cread") &&
	    strcmp(w, "fault") && strcmp(w, "conflict")) {
		fprintf(stderr, "interleave: unknown workload '%s'\n", w);
		return 2;
	}
	if (seconds <= 0 || slice <= 0 || seconds < 4 * slice || (argc == 7 && settle < 0)) {
		fprintf(stderr, "interleave: need SECONDS > 0, SLICE-MS > 0, SETTLE-MS >= 0 and at least 4 slices\n");
		return 2;
	}
	direct = w[0] == 'd';
	writes = !strcmp(w, "dwrite");
	conflict = !strcmp(w, "conflict");
	fd = open(path, (writes ? O_RDWR : O_RDONLY) | (direct ? O_DIRECT : 0));
	if (fd < 0)
		die(path);
	if (fstat(fd, &st))
		die("fstat");
	nblocks = st.st_size / BLK;
	if (nblocks < 256) {
		fprintf(stderr, "interleave: %s is smaller than 1 MiB\n", path);
		return 2;
	}
	if (posix_memalign((void **)&buf, BLK, BLK))
		die("posix_memalign");
	memset(buf, 0x5a, BLK);
	if (!strcmp(w, "fault")) {
		map = mmap(NULL, nblocks * BLK, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			die("mmap");
	}
	if (!direct)	/* the page cache holds the whole file */
		for (i = 0; i < nblocks; i++)
			if (pread(fd, buf, BLK, i * BLK) != BLK)
				die("warming the cache");
	if (conflict) {
		nblocks = CONFLICT_PAGES;
		wr.fd = open(path, O_WRONLY | O_DIRECT);
		if (wr.fd < 0)
			die(path);
		if (posix_memalign((void **)&wr.buf, BLK, BLK))
			die("posix_memalign");
		memset(wr.buf, 0xa5, BLK);
		writer = &wr;
	}
	switch_open(&sw, argv[3]);
	if (settle < 0)
		settle = sw.links ? SETTLE_LINKS : 0;

	nslices = (long)(seconds / slice) & ~3L;
	ops = calloc(nslices, sizeof(*ops));
	ratio = calloc(nslices / 2, sizeof(*ratio));
	if (!ops || !ratio)
		die("calloc");
	slice_timer_init(slice);
	if (writer && (errno = pthread_create(&writer_thread, NULL, writer_run, writer)))
		die("pthread_create");
	for (i = -WARMUP_SLICES; i < nslices; i++) {
		long done = 0, written;

		/* ABBA: slices 4k and 4k+3 off, 4k+1 and 4k+2 on */
		switch_set(&sw, (i + WARMUP_SLICES) % 4 == 1 || (i + WARMUP_SLICES) % 4 == 2);
		if (settle > 0)
			nap(settle);
		written = writer_done(writer);
		slice_start();
		do {
			off_t off = (off_t)(bench_rand() % nblocks) * BLK;
			ssize_t n;

			if (map) {
				volatile char c = map[off];

				(void)c;
				if (madvise(map + off, BLK, MADV_DONTNEED))
					die("madvise");
				n = BLK;
			} else if (writes) {
				n = pwrite(fd, buf, BLK, off);
			} else {
				n = pread(fd, buf, BLK, off);
			}
			if (n != BLK)
				die(writes ? "pwrite" : "pread");
			done++;
		} while (!slice_over);
		if (i >= 0)
			ops[i] = done + writer_done(writer) - written;
	}
	if (writer) {
		wr.stop = 1;
		pthread_join(writer_thread, NULL);
	}
	timer_delete(slice_timer);
	switch_close(&sw);

	for (i = 0; i + 1 < nslices; i += 2) {
		long off_ops = (i % 4 == 0) ? ops[i] : ops[i + 1];
		long on_ops = (i % 4 == 0) ? ops[i + 1] : ops[i];

		sum_off += off_ops;
		sum_on += on_ops;
		if (off_ops && on_ops)
			ratio[npairs++] = (double)on_ops / off_ops;
	}
	if (npairs < 2) {
		fprintf(stderr, "interleave: fewer than 2 pairs measured\n");
		return 2;
	}
	for (i = 0; i < npairs; i++)
		mean += log(ratio[i]);
	mean /= npairs;
	for (i = 0; i < npairs; i++)
		var += (log(ratio[i]) - mean) * (log(ratio[i]) - mean);
	se = sqrt(var / (npairs - 1) / npairs);
	qsort(ratio, npairs, sizeof(*ratio), cmp_double);
	printf("INTERLEAVE workload=%s slice_ms=%.0f settle_ms=%.0f pairs=%ld off_ops=%lld on_ops=%lld median=%.4f gmean=%.4f ci95=%.4f-%.4f\n",
	       w, slice * 1000, settle * 1000, npairs, sum_off, sum_on,
	       npairs % 2 ? ratio[npairs / 2] :
	       (ratio[npairs / 2 - 1] + ratio[npairs / 2]) / 2,
	       exp(mean), exp(mean - 1.96 * se), exp(mean + 1.96 * se));
	return 0;
}
