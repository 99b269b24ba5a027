// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case3.c - Chinner's case 3: mmap fault vs direct IO.
 *
 * Technique.  The file holds --pages pages, allocated and written once.  The
 * main thread loops: fill a private buffer with generation g, write it over
 * the whole range with a synchronous O_DIRECT pwrite, then read the range
 * back with a buffered pread on a second (non-O_DIRECT) descriptor and
 * compare.  --threads threads store into the first 8 bytes ("scribble
 * word") of every page through a MAP_SHARED mapping of the same file,
 * while the direct write is in flight and its pre-write invalidation has
 * emptied the range (mincore says no page resident; --always: all the time,
 * which mostly makes the pre-write invalidation fail instead).  A store after the direct write's pre-write invalidation faults
 * the page back in, possibly from the old blocks, and dirties it; the
 * post-write invalidation then fails on the dirty page and the stale page
 * stays in the cache.  Every --fsync-every iterations (and at the end) the
 * main thread calls fdatasync: the kernel records the failed invalidation
 * as EIO on the mapping (errseq), which is counted.
 *
 * Oracle.  Bytes [8, page) of every page are written only by the main
 * thread, and only by the direct write; the mapping threads write bytes
 * [0, 8) only.  The main thread issues write g, waits for it to return and
 * only then starts the buffered read, so write g happened-before the read
 * and no other write of those bytes is concurrent with or later than it.
 * Read-after-write therefore requires the read to return generation g in
 * bytes [8, page) of every page, whatever the interleaving with the stores.
 * Any other value (the tool prints which generation it found) is a stale
 * page cache: a violation.  A direct write that falls back to buffered IO
 * (pre-write invalidation failed: counted as tp, the
 * iomap_dio_invalidate_fail tracepoint) still satisfies the oracle, so tp is
 * a collision count, not a violation.  EIO from fdatasync is counted
 * separately: the kernel saying it left a stale page (the data may still
 * compare equal if the refault read the new blocks).
 */
#define _GNU_SOURCE
#include "common.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

static struct race_opts o = {
	.file = "/mnt/scratch/race-case3",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 1,
	.window = 1,
};
static struct dio_race r;
static char *map;

static void dio_pwrite(int fd, void *buf, size_t len)
{
	pwrite_all(fd, buf, len, 0);
}

static void *storer(void *arg)
{
	unsigned char *vec = calloc((size_t)o.pages, 1);
	uint64_t n = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (o.window) {
			/*
			 * Wait for a direct write to be issued and for its
			 * pre-write invalidation to empty the range: storing
			 * earlier only makes that invalidation fail (fallback
			 * to buffered IO, no stale page).
			 */
			if (!window_open(&r.inflight, map, o.pages, vec)) {
				sched_yield();
				continue;
			}
		}
		for (int p = 0; p < o.pages; p++)
			*(volatile uint64_t *)(map + (size_t)p * page_size) = ++n;
	}
	free(vec);
	return NULL;
}

int main(int argc, char **argv)
{
	race_parse(argc, argv, &o, OPT_THREADS | OPT_PAGES | OPT_FSYNC | OPT_WINDOW,
		   " [--threads N] [--pages N] [--fsync-every N] [--window|--always]");
	r.write = dio_pwrite;
	dio_race_setup(&r, &o);
	map = mmap(NULL, r.len, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd_buf, 0);
	if (map == MAP_FAILED)
		die("mmap failed");
	start_threads(o.threads, storer, NULL);
	return dio_race_run(&r, &o, 3, "sync");
}
