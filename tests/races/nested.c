// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/nested.c - case 9: a fault nested in IO.  The page-cache
 * user racing with the direct write is a page fault the kernel takes inside
 * another IO, while copying into a user buffer that is a shared mapping of
 * the raced file.
 *
 * Technique.  F (--file) holds --pages pages, allocated and written once.
 * The main thread runs case 3's loop on it (common.c's dio_race_run):
 * fill a private buffer with generation g, synchronous O_DIRECT pwrite over
 * the whole range, buffered pread of the range on a second descriptor,
 * check, fdatasync every --fsync-every iterations counting EIO.
 * --threads threads use a MAP_SHARED mapping of F as the user buffer of
 * reads, one per page p of F, by --variant:
 *   read-other (default): pread(fd_G, map_F + p * page, 4, p * page), G a
 *     second regular file on the same filesystem (F's name + "-src"),
 *     read buffered: copy_to_user write-faults F's page p in (read from
 *     disk, possibly before the direct write got there) and dirties it.
 *   read-self: the same with G = F itself: pread(fd_F, map_F + p * page, 4,
 *     q * page + 4), q = (p + pages / 2) % pages, so a buffered read of F
 *     faults on another part of F; source and destination are both inside
 *     scribble words.
 *   pipe-read: read(pipe, map_F + p * page, 4), a feeder thread keeping
 *     the pipe full: a kernel-mode copy by a system call no hook sees (the
 *     task holds no range; mapex waits fault_wait_ms for a busy range,
 *     0.6.1 and before refused it at once: EFAULT).
 *   dio-read: pread of 512 bytes of G, opened O_DIRECT, at p * page into
 *     map_F + p * page: the direct read pins F's page p with a write fault
 *     (get_user_pages) and dirties it when the read completes.  (btrfs
 *     needs sector-aligned direct reads and serves this one buffered.)
 *   bdev-read: the same from the block device F's filesystem is mounted
 *     from (read-only, O_DIRECT), a source no filesystem hook sees: the
 *     block layer's simple direct read dirties F's page in the reader's
 *     own task when the bio completes.
 * By default (--window) the threads run only while the direct write is in
 * flight and its pre-write invalidation has emptied the range (mincore);
 * --always: all the time.  A read into map_F that returns short or fails
 * with EFAULT is counted as efault= in the report line, not as an error
 * here: a range lock may refuse a fault nested in IO rather than deadlock
 * (mapex redoes such reads; tests/vm/races.t asserts efault=0 with it).  A
 * read that returns more than it was asked for, or any other error, is
 * fatal; a read that hangs trips the VM's hung-task check.
 *
 * Oracle.  Bytes [8, page) of F's pages (read-other, read-self) or
 * [512, page) (dio-read, bdev-read) are written only by the main thread,
 * only by the direct write: the racing reads copy 4 bytes into [0, 4) or
 * 512 bytes into [0, 512) of each page, and read-self copies only bytes
 * [4, 8).  The main
 * thread reads back only after its direct write returned, so the read must
 * return generation g in those bytes, as in case 3; anything else is a
 * stale page cache: a violation.  tp, warn and EIO are counted as in
 * case 3.
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

#define DIO_READ_LEN	512

enum { READ_OTHER, READ_SELF, PIPE_READ, DIO_READ, BDEV_READ };

static struct race_opts o = {
	.file = "/mnt/scratch/race-case9",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 1,
	.window = 1,
	.variant = "read-other",
};
static struct dio_race r;
static char *map;		/* MAP_SHARED of F: the reads' user buffer */
static int variant;
static int fd_src;		/* where the racing reads read from */
static atomic_long efault;	/* short or EFAULT reads into map */

static void dio_pwrite(int fd, void *buf, size_t len)
{
	pwrite_all(fd, buf, len, 0);
}

static void *nested_reader(void *arg)
{
	unsigned char *vec = calloc((size_t)o.pages, 1);
	size_t len = variant >= DIO_READ ? DIO_READ_LEN : 4;

	(void)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (o.window && !window_open(&r.inflight, map, o.pages, vec)) {
			sched_yield();
			continue;
		}
		for (int p = 0; p < o.pages; p++) {
			off_t src = (off_t)p * (off_t)page_size;
			ssize_t n;

			if (variant == READ_SELF)
				src = (off_t)((p + o.pages / 2) % o.pages) *
				      (off_t)page_size + 4;
			if (variant == PIPE_READ)
				n = read(fd_src, map + (size_t)p * page_size,
					 len);
			else
				n = pread(fd_src, map + (size_t)p * page_size,
					  len, src);
			if (n == (ssize_t)len ||
			    (n < 0 && errno == EAGAIN && variant == PIPE_READ))
				continue;
			if (n > (ssize_t)len)
				die("pread of %zu bytes into the mapping returned %zd",
				    len, n);
			if (n >= 0 || errno == EFAULT)
				atomic_fetch_add(&efault, 1);
			else
				die("pread into the mapping: %s", strerror(errno));
		}
	}
	free(vec);
	return NULL;
}

/* pipe-read: keep the pipe (both ends non-blocking) full until stopped. */
static void *pipe_feeder(void *arg)
{
	int fd = *(int *)arg;
	char chunk[4096];

	memset(chunk, 0x5a, sizeof(chunk));
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed))
		if (write(fd, chunk, sizeof(chunk)) < 0) {
			if (errno != EAGAIN)
				die("write to the pipe: %s", strerror(errno));
			sched_yield();
		}
	return NULL;
}

/* The device of the mount holding @path (the longest mount point prefix). */
static void mount_device(const char *path, char *dev, size_t size)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char src[4096], dir[4096];
	size_t best = 0;

	if (!f)
		die("cannot read /proc/self/mounts: %s", strerror(errno));
	dev[0] = '\0';
	while (fscanf(f, "%4095s %4095s %*s %*s %*d %*d", src, dir) == 2) {
		size_t n = strlen(dir);

		if (src[0] != '/' || strncmp(path, dir, n) ||
		    (path[n] != '/' && strcmp(dir, "/")) || n <= best)
			continue;
		best = n;
		snprintf(dev, size, "%s", src);
	}
	fclose(f);
	if (!dev[0])
		die("no block device is mounted under %s", path);
}

int main(int argc, char **argv)
{
	char src_path[4096];
	int pipe_fds[2];
	char *buf;
	int ret;

	race_parse(argc, argv, &o,
		   OPT_THREADS | OPT_PAGES | OPT_FSYNC | OPT_WINDOW | OPT_VARIANT,
		   " [--variant read-other|read-self|pipe-read|dio-read|bdev-read]\n"
		   "       [--threads N]"
		   "       [--pages N]"
		   " [--fsync-every N] [--window|--always]");
	if (!strcmp(o.variant, "read-other"))
		variant = READ_OTHER;
	else if (!strcmp(o.variant, "read-self"))
		variant = READ_SELF;
	else if (!strcmp(o.variant, "pipe-read"))
		variant = PIPE_READ;
	else if (!strcmp(o.variant, "dio-read"))
		variant = DIO_READ;
	else if (!strcmp(o.variant, "bdev-read"))
		variant = BDEV_READ;
	else
		die("--variant must be read-other, read-self, pipe-read, dio-read or bdev-read");

	/* G: a second file of the same size on the same filesystem. */
	snprintf(src_path, sizeof(src_path), "%s-src", o.file);
	if (variant == BDEV_READ) {
		mount_device(o.file, src_path, sizeof(src_path));
		fd_src = open(src_path, O_RDONLY | O_DIRECT);
		if (fd_src < 0)
			die("open %s: %s", src_path, strerror(errno));
	} else if (variant == PIPE_READ) {
		if (pipe2(pipe_fds, O_NONBLOCK))
			die("pipe2: %s", strerror(errno));
		fd_src = pipe_fds[0];
	} else if (variant != READ_SELF) {
		size_t len = (size_t)o.pages * page_size;

		buf = alloc_aligned(len);
		fill_pages(buf, 1, 0, o.pages);
		unlink(src_path);
		fd_src = open_file(src_path, 0);
		pwrite_all(fd_src, buf, len, 0);
		if (fsync(fd_src))
			die("fsync %s failed", src_path);
		free(buf);
		if (variant == DIO_READ) {
			close(fd_src);
			fd_src = open_file(src_path, O_DIRECT);
		}
	}

	r.write = dio_pwrite;
	if (variant >= DIO_READ)
		r.check_from = DIO_READ_LEN;
	dio_race_setup(&r, &o);
	if (variant == READ_SELF)
		fd_src = r.fd_buf;
	map = mmap(NULL, r.len, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd_buf, 0);
	if (map == MAP_FAILED)
		die("mmap failed");
	report_extra("efault", &efault);
	start_threads(o.threads, nested_reader, NULL);
	if (variant == PIPE_READ)
		start_threads(1, pipe_feeder, &pipe_fds[1]);
	ret = dio_race_run(&r, &o, 9, o.variant);
	if (variant != READ_SELF)
		close(fd_src);
	if (variant == PIPE_READ)
		close(pipe_fds[1]);
	else if (variant != READ_SELF && variant != BDEV_READ)
		unlink(src_path);
	return ret;
}
