// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/folio.c - case 8: neighbours inside one large folio.  A
 * page-cache user touches only page 0 of a group of pages, a direct write
 * writes only pages 1..G-1 of it: the two byte ranges never overlap, but
 * with large folios (xfs, on 6.1 and 6.12) one folio can hold both, and the
 * folio is what the page cache dirties and invalidates.
 *
 * Technique.  The file is --groups N groups of --group G pages (default 8 of
 * 16; 8 of 512 for --variant huge), allocated and written once.  The main
 * thread loops over generations g: for every group, last group first, one
 * synchronous O_DIRECT pwrite of generation g over pages 1..G-1; then,
 * after the last one returned, a buffered pread of pages 1..G-1 of every
 * group on a second (non-O_DIRECT) descriptor, which is checked; then the
 * reset: MADV_DONTNEED of the whole mapping (unmaps page 0 of every group;
 * the page cache keeps it), fdatasync every --fsync-every iterations
 * (default 1) counting EIO, and POSIX_FADV_DONTNEED of the whole file, so
 * that each generation starts from an empty page cache.  Racing threads,
 * by --variant:
 *   mmap (default): --threads threads store into the first word of page 0
 *     of a group through a MAP_SHARED mapping (never into pages 1..G-1),
 *     and --readers threads (default 1), each on a descriptor of its own,
 *     loop buffered preads of pages 1..G-1 of random groups.  By default
 *     (--window) a storer stores into page 0 of the group whose direct
 *     write is in flight, once mincore shows that write's pages 1..G-1
 *     evicted (its pre-write invalidation is done); --always stores into
 *     page 0 of every group all the time.  The store faults page 0 in with
 *     the mmap read-around, which adds order-2 folios (xfs) from half a
 *     readahead window (16 pages by default) before it, read from disk,
 *     possibly before the direct write got there: one of them holds page 0
 *     and pages 1..3.  The store dirties that whole folio, the direct
 *     write's post-write invalidation fails on it, and stale pages 1..3
 *     stay cached.  The read-around only builds large folios where its
 *     whole window is uncached: hence the reset, and the descending group
 *     order (the window of group k's page 0 covers group k-1, still
 *     untouched in this generation).  Without them page 0 ends up in a
 *     single-page folio that no direct write ever evicts again.
 *   huge: the same with G = 512 by default and madvise(MADV_HUGEPAGE) on
 *     the mapping, so that a fault on page 0 builds a PMD-sized (2 MiB)
 *     folio: the whole group.  EINVAL (THP off) is printed and ignored.
 *   readahead: no stores through a mapping.  --threads reader threads,
 *     each on a descriptor of its own, alternate passes of
 *     posix_fadvise(WILLNEED) plus readahead(2) over the whole file and
 *     sequential 1 MiB buffered preads of it (readahead ramps up the folio
 *     order), and one writer thread loops buffered 8-byte pwrites at
 *     offset 0 of page 0 of every group (a buffered write dirties the
 *     folio it lands in).  A synchronous direct write holds i_rwsem until
 *     it completes on ext4 and xfs, so that buffered write cannot dirty a
 *     folio inside its window there: stock kernels show nothing, and the
 *     variant checks that a range lock does not open one.
 *
 * Oracle.  Pages 1..G-1 of every group, all their bytes, are written only
 * by the main thread, and only by the direct writes: the storers and the
 * buffered writer write page 0 of a group only, the readers only read, and
 * the reset changes no data.  The main thread starts the buffered pread
 * only after every direct write of generation g returned, so each write
 * happened-before the read and no write of those bytes is concurrent with
 * or later than it: the read must return generation g in every byte of
 * pages 1..G-1.  Anything else is a stale page cache: a violation.  A
 * direct write that falls back to buffered IO (pre-write invalidation
 * failed: tp) still satisfies the oracle; a failed post-write invalidation
 * is counted as warn and shows as EIO at the next fdatasync.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RA_CHUNK	(1u << 20)	/* readahead variant: pread size */

static struct race_opts o = {
	.file = "/mnt/scratch/race-case8",
	.seconds = 10,
	.threads = 2,
	.readers = 1,
	.fsync_every = 1,
	.window = 1,
	.variant = "mmap",
	.group = 0,		/* 16, or 512 for huge */
	.groups = 8,
};
static int G, N;		/* pages per group, groups */
static size_t len;		/* file size */
static char *map;
static atomic_int inflight;	/* 1 + group whose direct write is in flight */

static off_t group_off(int k, int page)
{
	return ((off_t)k * G + page) * (off_t)page_size;
}

/* --window: pages 1..G-1 of group k all evicted. */
static int group_evicted(int k, unsigned char *vec)
{
	if (mincore(map + group_off(k, 1), (size_t)(G - 1) * page_size, vec))
		return 0;
	for (int p = 0; p < G - 1; p++)
		if (vec[p] & 1)
			return 0;
	return 1;
}

/* mmap, huge: stores into page 0 of groups. */
static void *storer(void *arg)
{
	unsigned char *vec = calloc((size_t)G, 1);
	uint64_t n = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		int k;

		if (!o.window) {
			for (k = 0; k < N; k++)
				*(volatile uint64_t *)(map + group_off(k, 0)) = ++n;
			continue;
		}
		k = atomic_load_explicit(&inflight, memory_order_relaxed) - 1;
		if (k < 0 || !group_evicted(k, vec)) {
			sched_yield();
			continue;
		}
		*(volatile uint64_t *)(map + group_off(k, 0)) = ++n;
	}
	free(vec);
	return NULL;
}

/* mmap, huge: buffered preads of pages 1..G-1 of random groups. */
static void *group_reader(void *arg)
{
	size_t glen = (size_t)(G - 1) * page_size;
	char *buf = malloc(glen);
	unsigned seed = (unsigned)(uintptr_t)&arg;
	int fd = open_file(o.file, 0);

	(void)arg;
	if (!buf)
		die("out of memory");
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		int k = (int)(rand_r(&seed) % (unsigned)N);

		pread_all(fd, buf, glen, group_off(k, 1));
	}
	close(fd);
	free(buf);
	return NULL;
}

/* readahead: whole-file readahead and sequential 1 MiB preads, in turn. */
static void *seq_reader(void *arg)
{
	char *buf = malloc(RA_CHUNK);
	int fd = open_file(o.file, 0);
	int pass = 0;

	(void)arg;
	if (!buf)
		die("out of memory");
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (pass++ & 1) {
			posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_WILLNEED);
			readahead(fd, 0, len);
			continue;
		}
		for (size_t off = 0; off < len; off += RA_CHUNK) {
			size_t n = len - off < RA_CHUNK ? len - off : RA_CHUNK;

			if (atomic_load_explicit(&stop_flag, memory_order_relaxed))
				break;
			pread_all(fd, buf, n, (off_t)off);
		}
	}
	close(fd);
	free(buf);
	return NULL;
}

/* readahead: buffered 8-byte pwrites into page 0 of every group. */
static void *page0_writer(void *arg)
{
	int fd = open_file(o.file, 0);
	uint64_t n = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		for (int k = 0; k < N; k++) {
			n++;
			if (pwrite(fd, &n, sizeof(n), group_off(k, 0)) != sizeof(n))
				die("buffered pwrite: %s", strerror(errno));
		}
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	long iters = 0, viol = 0, eio = 0;
	size_t glen;
	char *wbuf, *rbuf;
	int fd_buf, fd_dio, ret;

	race_parse(argc, argv, &o,
		   OPT_THREADS | OPT_READERS | OPT_FSYNC | OPT_WINDOW | OPT_VARIANT | OPT_GROUPS,
		   " [--variant mmap|huge|readahead] [--group G] [--groups N]\n"
		   "       [--threads N] [--readers N] [--fsync-every N] [--window|--always]");
	if (strcmp(o.variant, "mmap") && strcmp(o.variant, "huge") &&
	    strcmp(o.variant, "readahead"))
		die("--variant must be mmap, huge or readahead");
	G = o.group ? o.group : !strcmp(o.variant, "huge") ? 512 : 16;
	N = o.groups;
	len = (size_t)G * (size_t)N * page_size;
	glen = (size_t)(G - 1) * page_size;
	wbuf = alloc_aligned(glen);
	rbuf = alloc_aligned(glen);

	/* The whole file, generation 1, on disk and not cached. */
	unlink(o.file);
	fd_buf = open_file(o.file, 0);
	fd_dio = open_file(o.file, O_DIRECT);
	for (int k = 0; k < N; k++) {
		fill_pages(rbuf, 1, (long)k * G, 1);
		pwrite_all(fd_buf, rbuf, page_size, group_off(k, 0));
		fill_pages(wbuf, 1, (long)k * G + 1, G - 1);
		pwrite_all(fd_buf, wbuf, glen, group_off(k, 1));
	}
	if (fsync(fd_buf))
		die("fsync: initial write failed");
	posix_fadvise(fd_buf, 0, 0, POSIX_FADV_DONTNEED);
	tp_start();

	if (strcmp(o.variant, "readahead")) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_buf, 0);
		if (map == MAP_FAILED)
			die("mmap failed");
		if (!strcmp(o.variant, "huge") && madvise(map, len, MADV_HUGEPAGE))
			fprintf(stderr, "case8: madvise(MADV_HUGEPAGE): %s%s\n",
				strerror(errno), errno == EINVAL ?
				" (THP off?): continuing with small folios" : "");
		start_threads(o.threads, storer, NULL);
		start_threads(o.readers, group_reader, NULL);
	} else {
		start_threads(o.threads, seq_reader, NULL);
		start_threads(1, page0_writer, NULL);
	}

	budget_start(&o);
	while (budget_left(iters) && !(o.stop_on_hit && (viol || eio))) {
		uint64_t gen = (uint64_t)iters + 2;

		for (int k = N - 1; k >= 0; k--) {
			fill_pages(wbuf, gen, (long)k * G + 1, G - 1);
			atomic_store(&inflight, k + 1);
			pwrite_all(fd_dio, wbuf, glen, group_off(k, 1));
		}
		atomic_store(&inflight, 0);
		for (int k = 0; k < N; k++) {
			pread_all(fd_buf, rbuf, glen, group_off(k, 1));
			viol += check_pages_from(rbuf, gen, (long)k * G + 1, G - 1, 0,
						 "read after direct write");
		}
		iters++;
		/* The reset: unmap, write back, evict. */
		if (map)
			madvise(map, len, MADV_DONTNEED);
		if (o.fsync_every && iters % o.fsync_every == 0)
			datasync_count(fd_buf, &eio);
		posix_fadvise(fd_buf, 0, 0, POSIX_FADV_DONTNEED);
	}
	join_threads();
	datasync_count(fd_buf, &eio);
	ret = report(8, o.variant, iters, viol, eio, tp_hits(), warn_hits());
	tp_stop();
	if (map)
		munmap(map, len);
	close(fd_dio);
	close(fd_buf);
	unlink(o.file);
	free(wbuf);
	free(rbuf);
	return ret;
}
