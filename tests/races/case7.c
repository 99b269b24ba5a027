// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case7.c - Chinner's case 7: direct IO vs buffered IO, with a
 * synchronous direct write (--variant sync) or an asynchronous one kept in
 * flight through libaio (--variant aio) or io_uring (--variant uring).
 *
 * Technique.  The file holds --pages pages, allocated and written once.  The
 * main thread loops: fill a private buffer with generation g, write it over
 * the whole range with O_DIRECT (pwrite; or io_submit + io_getevents; or
 * io_uring submit + wait), then read the range back with a buffered pread on
 * a second descriptor and compare.  --threads writer threads issue buffered
 * 8-byte pwrites at offset 0 of every page (the "scribble word"), and
 * --readers reader threads issue buffered preads of the whole range.  By
 * default (--window) the racing threads act only while the direct write is
 * in flight and its pre-write invalidation has emptied the range (mincore);
 * --always races all the time.  A buffered write to a page that is not
 * cached reads it from disk, possibly before the direct write's data got
 * there, and dirties it; if that happens while the direct write is in
 * flight, the post-write invalidation fails on the dirty page and the old
 * data stays cached.  Synchronous direct writes hold i_rwsem across the IO,
 * so buffered writes (which take it exclusive) cannot get in; asynchronous
 * ones drop it when the IO is queued (-EIOCBQUEUED), which leaves the
 * window open.  fdatasync every --fsync-every iterations counts the EIO the
 * kernel records on a failed post-write invalidation.
 *
 * Oracle.  Bytes [8, page) of every page are written only by the main
 * thread, only by the direct write; the racing threads write bytes [0, 8)
 * only (or only read).  The main thread reads back only after the direct
 * write completed (pwrite returned, or its completion event was reaped), so
 * the write happened-before the read and no write of those bytes is
 * concurrent with or later than it: the read must return generation g in
 * bytes [8, page).  Anything else is a stale page cache: a violation.  A
 * direct write that falls back to buffered IO (iomap_dio_invalidate_fail,
 * counted as tp) still satisfies the oracle.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <libaio.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static struct race_opts o = {
	.file = "/mnt/scratch/race-case7",
	.seconds = 10,
	.threads = 2,
	.readers = 0,
	.pages = 16,
	.fsync_every = 1,
	.window = 1,
	.variant = "sync",
};
static struct dio_race r;
static char *map;		/* read-only mapping, for mincore only */

static int wait_window(unsigned char *vec)
{
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (!o.window || window_open(&r.inflight, map, o.pages, vec))
			return 1;
		sched_yield();
	}
	return 0;
}

static void *writer(void *arg)
{
	unsigned char *vec = calloc((size_t)o.pages, 1);
	uint64_t n = 0;

	(void)arg;
	while (wait_window(vec)) {
		for (int p = 0; p < o.pages; p++) {
			n++;
			if (pwrite(r.fd_buf, &n, sizeof(n), (off_t)p * page_size) != sizeof(n))
				die("buffered pwrite: %s", strerror(errno));
		}
	}
	free(vec);
	return NULL;
}

static void *reader(void *arg)
{
	size_t len = (size_t)o.pages * page_size;
	unsigned char *vec = calloc((size_t)o.pages, 1);
	char *buf = malloc(len);

	(void)arg;
	while (wait_window(vec))
		pread_all(r.fd_buf, buf, len, 0);
	free(buf);
	free(vec);
	return NULL;
}

/* ---- the three ways to issue the direct write ---- */

static io_context_t aio_ctx;
static struct io_uring ring;

static void dio_write(int fd, void *buf, size_t len)
{
	long res;

	if (!strcmp(o.variant, "sync")) {
		pwrite_all(fd, buf, len, 0);
		return;
	}
	if (!strcmp(o.variant, "aio")) {
		struct iocb cb, *cbs[1] = { &cb };
		struct io_event ev;
		int ret;

		io_prep_pwrite(&cb, fd, buf, len, 0);
		ret = io_submit(aio_ctx, 1, cbs);
		if (ret != 1)
			die("io_submit: %s", ret < 0 ? strerror(-ret) : "not queued");
		do
			ret = io_getevents(aio_ctx, 1, 1, &ev, NULL);
		while (ret == -EINTR);
		if (ret != 1)
			die("io_getevents: %s", ret < 0 ? strerror(-ret) : "no event");
		res = (long)ev.res;
	} else {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		int ret;

		if (!sqe)
			die("io_uring: no sqe");
		io_uring_prep_write(sqe, fd, buf, (unsigned)len, 0);
		ret = io_uring_submit(&ring);
		if (ret != 1)
			die("io_uring_submit: %s", ret < 0 ? strerror(-ret) : "not queued");
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret)
			die("io_uring_wait_cqe: %s", strerror(-ret));
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	if (res != (long)len)
		die("async direct write: %s", res < 0 ? strerror((int)-res) : "short write");
}

int main(int argc, char **argv)
{
	int ret;

	race_parse(argc, argv, &o,
		   OPT_THREADS | OPT_READERS | OPT_PAGES | OPT_FSYNC | OPT_WINDOW | OPT_VARIANT,
		   " [--variant sync|aio|uring] [--threads N] [--readers N] [--pages N]\n"
		   "       [--fsync-every N] [--window|--always]");
	if (!strcmp(o.variant, "aio")) {
		ret = io_setup(4, &aio_ctx);
		if (ret)
			die("io_setup: %s", strerror(-ret));
	} else if (!strcmp(o.variant, "uring")) {
		ret = io_uring_queue_init(4, &ring, 0);
		if (ret)
			die("io_uring_queue_init: %s", strerror(-ret));
	} else if (strcmp(o.variant, "sync")) {
		die("--variant must be sync, aio or uring");
	}
	r.write = dio_write;
	dio_race_setup(&r, &o);
	map = mmap(NULL, r.len, PROT_READ, MAP_SHARED, r.fd_buf, 0);
	if (map == MAP_FAILED)
		die("mmap failed");
	start_threads(o.threads, writer, NULL);
	start_threads(o.readers, reader, NULL);
	return dio_race_run(&r, &o, 7, o.variant);
}
