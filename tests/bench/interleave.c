// SPDX-License-Identifier: GPL-2.0
/*
 * tests/bench/interleave.c - mapex on/off overhead at fine grain, for
 * tests/bench/vm-bench: one thread runs one 4k workload without pause and
 * flips mapex's per-filesystem `enabled` (a plain flag, module/profile.c)
 * every SLICE ms in ABBA order (off on on off ...), counting operations per
 * slice.  Each (off, on) pair of adjacent slices gives one on/off ratio.
 * Under TCG, throughput drifts by tens of percent over seconds (the host,
 * the emulator's code cache); slices tens of milliseconds apart see nearly
 * the same conditions, so the paired ratios are far tighter than those of
 * rounds seconds apart, and many pairs give a confidence interval.
 *
 * Workloads, on FILE (of at least 1 MiB; the whole file is used):
 *   dread   4k O_DIRECT pread at random aligned offsets
 *   dwrite  4k O_DIRECT pwrite at random aligned offsets
 *   cread   4k cached pread at random offsets (the file is read once first)
 *   fault   read fault on a random page of a shared read-only mapping,
 *           the page's mapping zapped after each touch (MADV_DONTNEED):
 *           with fault-around off, every touch reaches ->fault
 *
 * Usage: interleave WORKLOAD FILE ENABLED-PATH SECONDS [SLICE-MS]
 * Prints one line:
 *   INTERLEAVE workload=W slice_ms=M pairs=P off_ops=A on_ops=B
 *     median=R gmean=R ci95=LO-HI
 * where R are on/off throughput ratios of the pairs (below 1: mapex costs
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

#define BLK	4096

static void die(const char *what)
{
	fprintf(stderr, "interleave: %s: %s\n", what, strerror(errno));
	exit(2);
}

/*
 * The slice clock: a periodic timer signal ends each slice, so the loop
 * reads no clock (under TCG the guest's clocksource is often the HPET, an
 * emulated device read that costs as much as a cached 4k read).  Each
 * slice starts at the flip that follows the tick, and ends at the next
 * tick: the flip's own time is in neither state's count.
 */
static volatile sig_atomic_t slice_over;
static timer_t slice_timer;

static void on_tick(int sig)
{
	(void)sig;
	slice_over = 1;
}

static void slice_timer_start(double slice)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	struct itimerspec its;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		die("sigaction");
	if (timer_create(CLOCK_MONOTONIC, &sev, &slice_timer))
		die("timer_create");
	its.it_value.tv_sec = (time_t)slice;
	its.it_value.tv_nsec = (long)((slice - (time_t)slice) * 1e9);
	its.it_interval = its.it_value;
	if (timer_settime(slice_timer, 0, &its, NULL))
		die("timer_settime");
}

static void slice_timer_stop(void)
{
	timer_delete(slice_timer);
}

static void set_enabled(int fd, int on)
{
	if (pwrite(fd, on ? "1\n" : "0\n", 2, 0) != 2)
		die("writing enabled");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *w, *path;
	double seconds, slice, *ratio;
	long nblocks, *ops, nslices, npairs = 0, i;
	long long sum_off = 0, sum_on = 0;
	double mean = 0, var = 0, se;
	char *buf, *map = NULL;
	int fd, efd, direct, writes;
	struct stat st;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: interleave dread|dwrite|cread|fault FILE ENABLED-PATH SECONDS [SLICE-MS]\n");
		return 2;
	}
	w = argv[1];
	path = argv[2];
	seconds = atof(argv[4]);
	slice = (argc == 6 ? atof(argv[5]) : 50) / 1000;
	if (strcmp(w, "dread") && strcmp(w, "dwrite") && strcmp(w, "cread") &&
	    strcmp(w, "fault")) {
		fprintf(stderr, "interleave: unknown workload '%s'\n", w);
		return 2;
	}
	if (seconds <= 0 || slice <= 0 || seconds < 4 * slice) {
		fprintf(stderr, "interleave: need SECONDS > 0, SLICE-MS > 0 and at least 4 slices\n");
		return 2;
	}
	direct = w[0] == 'd';
	writes = !strcmp(w, "dwrite");
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
	efd = open(argv[3], O_WRONLY);
	if (efd < 0)
		die(argv[3]);
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

	nslices = (long)(seconds / slice) & ~3L;
	ops = calloc(nslices, sizeof(*ops));
	ratio = calloc(nslices / 2, sizeof(*ratio));
	if (!ops || !ratio)
		die("calloc");
	slice_timer_start(slice);
	for (i = 0; i < nslices; i++) {
		/* ABBA: slices 4k and 4k+3 off, 4k+1 and 4k+2 on */
		set_enabled(efd, (i % 4 == 1) || (i % 4 == 2));
		slice_over = 0;
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
			ops[i]++;
		} while (!slice_over);
	}
	slice_timer_stop();
	set_enabled(efd, 1);

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
	printf("INTERLEAVE workload=%s slice_ms=%.0f pairs=%ld off_ops=%lld on_ops=%lld median=%.4f gmean=%.4f ci95=%.4f-%.4f\n",
	       w, slice * 1000, npairs, sum_off, sum_on,
	       npairs % 2 ? ratio[npairs / 2] :
	       (ratio[npairs / 2 - 1] + ratio[npairs / 2]) / 2,
	       exp(mean), exp(mean - 1.96 * se), exp(mean + 1.96 * se));
	return 0;
}
