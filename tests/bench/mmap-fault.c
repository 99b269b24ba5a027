// SPDX-License-Identifier: GPL-2.0
/*
 * tests/bench/mmap-fault.c - read-fault workload for tests/bench/vm-bench:
 * maps FILE shared read-only, touches one byte of every page in a random
 * order, then zaps the page tables with MADV_DONTNEED (the page cache stays)
 * and starts over, until SECONDS have passed.  Every touch is a minor fault
 * on a cached page.  For each to reach the filesystem's ->fault (where mapex
 * takes its range lock), fault-around must be off: vm-bench writes 4096 to
 * /sys/kernel/debug/fault_around_bytes, otherwise ->map_pages maps the
 * neighbours without calling ->fault.  The page order is reshuffled each
 * pass; the zap costs one madvise per pass, the same with and without mapex.
 *
 * Usage: mmap-fault FILE SECONDS
 * Prints one line: "faults N minflt M seconds S faults_per_sec R", where M
 * is the kernel's minor fault count for the timed loop (it should be close
 * to N: if it is much lower, faults are being served without ->fault).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

int main(int argc, char **argv)
{
	volatile unsigned char sink = 0;
	unsigned long long faults = 0;
	size_t npages, i, *order;
	double seconds, t0, t;
	struct rusage ru0, ru1;
	struct stat st;
	long page;
	char *map;
	int fd;

	if (argc != 3 || (seconds = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: mmap-fault FILE SECONDS\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "mmap-fault: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	npages = st.st_size / page;
	if (npages < 2) {
		fprintf(stderr, "mmap-fault: %s: too small\n", argv[1]);
		return 2;
	}
	map = mmap(NULL, npages * page, PROT_READ, MAP_SHARED, fd, 0);
	order = malloc(npages * sizeof(*order));
	if (map == MAP_FAILED || !order) {
		fprintf(stderr, "mmap-fault: mmap: %s\n", strerror(errno));
		return 2;
	}
	for (i = 0; i < npages; i++)
		order[i] = i;

	getrusage(RUSAGE_SELF, &ru0);
	t0 = bench_now();
	do {
		for (i = npages - 1; i > 0; i--) {
			size_t j = bench_rand() % (i + 1), tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		for (i = 0; i < npages; i++)
			sink += map[order[i] * page];
		faults += npages;
		if (madvise(map, npages * page, MADV_DONTNEED) < 0) {
			fprintf(stderr, "mmap-fault: madvise: %s\n", strerror(errno));
			return 2;
		}
		t = bench_now() - t0;
	} while (t < seconds);

	getrusage(RUSAGE_SELF, &ru1);
	printf("faults %llu minflt %ld seconds %.3f faults_per_sec %.1f\n",
	       faults, ru1.ru_minflt - ru0.ru_minflt, t, faults / t);
	return 0;
}
