// SPDX-License-Identifier: GPL-2.0
/*
 * tests/vm/progs/mxio.c - IO patterns for tests/vm/interpose.t: the nested
 * cases that would deadlock on a range lock without the per-task holder
 * rule, and a bounded multi-process mix of every operation mapex guards.
 *
 * Usage: mxio CMD FILE SECONDS [NPROC]
 *   nest-read     read() into an mmap of the same file range
 *   nest-dio-read O_DIRECT read into an mmap of the same file range
 *   nest-dio-write O_DIRECT write whose source is an mmap of the same range
 *   write-punch   write() whose source is an mmap of the same range, while
 *                 another thread punches that range in a loop and a third
 *                 faults on it
 *   cross-dio     two processes, each O_DIRECT-reading its range into an
 *                 mmap of the other's range
 *   mmap-loop     one process: mmap/munmap loop, direct IO (also into a
 *                 fresh mmap of the file) and faults on a long-lived mapping
 *   fiemap        FS_IOC_FIEMAP whose extent buffer is a fresh shared
 *                 mapping of the file's last page, against sub-block
 *                 O_DIRECT writes that reach EOF (xfs takes its IOLOCK
 *                 exclusive for those, FIEMAP holds it shared while it
 *                 copies out): both must make progress; FIEMAP may fail
 *                 with EFAULT while the write holds the range
 *   starve        NPROC (default 2) threads storing through a shared
 *                 mapping into a range that two threads rewrite with a
 *                 continuous stream of overlapping O_DIRECT writes: every
 *                 storing thread must complete stores
 *   kill          a child storing through a shared mapping into a range
 *                 under a continuous stream of O_DIRECT writes is sent
 *                 SIGKILL and must be reaped while the stream still runs
 *   gap-zero      one thread truncates the file to an unaligned size and
 *                 O_DIRECT-writes a block past EOF (xfs zeroes the old EOF
 *                 block's tail through the page cache), another rewrites a
 *                 block just inside EOF with O_DIRECT, in one large folio
 *   exchange-range FILE1 FILE2: one XFS_IOC_EXCHANGE_RANGE (xfs, 6.10
 *                 on) of the first 64 KiB of FILE1 with FILE2's (FILE2
 *                 stands where SECONDS goes); "not supported" elsewhere
 *   move-ext FILE DONOR: one EXT4_IOC_MOVE_EXT (what e4defrag does) of
 *                 the first 16 blocks of DONOR into FILE
 *   redirty       O_DIRECT reads of a second file (FILE-src) into a
 *                 shared mapping of FILE, while another thread cleans
 *                 FILE's pages (sync_file_range) so that the block layer
 *                 dirties some of them again later, from its work item,
 *                 and a third O_DIRECT-writes FILE over the same range;
 *                 EIO and EUCLEAN (btrfs checksums) are counted
 *   remote-write  as redirty, but the stores into the mapping come from
 *                 the kernel writing through pinned pages, not from a
 *                 read: process_vm_writev() to this very process,
 *                 pwrite() of /proc/self/mem, and PTRACE_POKEDATA into a
 *                 traced child sharing the mapping; a short or refused
 *                 write (a fault refused) is counted, not fatal
 *   aio-mmap      asynchronous (aio) O_DIRECT writes of FILE-other from a
 *                 shared mapping of FILE, and reads of it into a private
 *                 mapping of FILE, each of pages just unmapped (so GUP
 *                 faults them), while another thread O_DIRECT-writes FILE
 *                 over the same range: every IO must complete in full
 *   aio-own       asynchronous O_DIRECT writes of 1.5 MiB of FILE's first
 *                 half from a shared mapping of its second half, just
 *                 unmapped (GUP faults it between bios), while another
 *                 thread O_DIRECT-writes the second half: every IO must
 *                 complete in full
 *   many-files    O_DIRECT reads into one buffer made of shared
 *                 mappings of 9 files (FILE-0 .. FILE-8) while another
 *                 thread O_DIRECT-writes those files; then, each file
 *                 synced, its page cache must equal its disk
 *   sendfile      sendfile() of unaligned pieces of FILE to /dev/null
 *                 (splice reads the page cache: ->read_iter on 6.1,
 *                 filemap_splice_read from 6.5 on), some from a cold
 *                 cache, while another thread O_DIRECT-writes FILE; then,
 *                 synced, its page cache must equal its disk
 *   mix           NPROC (default 2) processes, random buffered/direct/mmap
 *                 reads and writes, punch, zero, collapse/insert, truncate,
 *                 direct IO into mmaps, fsync
 * Prints one summary line "mxio CMD: ..." and exits 0, or prints the first
 * unexpected error and exits 1.  Never asserts on timing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/magic.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FS_IOC_FIEMAP	/* <linux/fs.h>, which clashes with <sys/mount.h> users */
#define FS_IOC_FIEMAP	_IOWR('f', 11, struct fiemap)
#endif

#define KB	1024L
#define MB	(1024 * KB)

static const char *cmd, *path;
static double deadline;
static volatile int stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int expired(void)
{
	return stop || now() >= deadline;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "mxio %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	stop = 1;
	exit(1);
}

static int open_file(int flags)
{
	int fd = open(path, O_RDWR | O_CREAT | flags, 0644);

	if (fd < 0)
		die("open %s%s", path, flags & O_DIRECT ? " O_DIRECT" : "");
	return fd;
}

/* Give the file at least @size bytes of non-zero data. */
static void prepare(int fd, off_t size)
{
	struct stat st;
	char buf[64 * KB];
	off_t off;

	if (fstat(fd, &st))
		die("fstat");
	if (st.st_size >= size)
		return;
	for (off = 0; off < size; off += sizeof(buf)) {
		memset(buf, 'a' + (off / sizeof(buf)) % 26, sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), off) != sizeof(buf))
			die("prepare pwrite at %lld", (long long)off);
	}
	if (fsync(fd))
		die("prepare fsync");
}

static char *map_file(int fd, off_t off, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	if (p == MAP_FAILED)
		die("mmap %zu at %lld", len, (long long)off);
	return p;
}

static void *aligned_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len))
		die("posix_memalign");
	memset(p, 'x', len);
	return p;
}

/*
 * A direct read into pages that change under the transfer (a store through
 * another mapping, writeback of a page being filled) fails its checksum on
 * btrfs: EIO or EUCLEAN.  That is data the test itself races on, not a
 * hang: count it and go on.
 */
static long csum_errors;

static int csum_error(ssize_t r)
{
	if (r >= 0 || (errno != EIO && errno != EUCLEAN))
		return 0;
	csum_errors++;
	return 1;
}

/* ---- nested cases ------------------------------------------------------ */

#define NEST_LEN	(1 * MB)
#define NEST_CHUNK	(64 * KB)

enum nest_kind { NEST_READ, NEST_DIO_READ, NEST_DIO_WRITE };

/*
 * read() (buffered) or O_DIRECT read of each chunk into the mmap of that
 * very chunk, buffered also into the mmap shifted by a page; or an
 * O_DIRECT write of each chunk from the mmap of that very chunk (it
 * writes back what it read, so the data does not change).
 */
static int cmd_nest(enum nest_kind kind)
{
	int fd = open_file(0);
	int dfd = kind == NEST_READ ? fd : open_file(O_DIRECT);
	long ops = 0;
	off_t off;
	char *map;

	prepare(fd, NEST_LEN);
	map = map_file(fd, 0, NEST_LEN);
	while (!expired()) {
		/* Unmapped pages make every copy fault on the file itself. */
		if (madvise(map, NEST_LEN, MADV_DONTNEED))
			die("madvise");
		/*
		 * Uncached ones make it call ->fault: fault-around maps cached
		 * pages without it, and a direct write that falls back to a
		 * buffered one (btrfs 6.12 on checksummed files) does not
		 * invalidate them.
		 */
		if (kind == NEST_DIO_WRITE &&
		    (fdatasync(fd) ||
		     posix_fadvise(fd, 0, NEST_LEN, POSIX_FADV_DONTNEED)))
			die("fdatasync/fadvise");
		for (off = 0; off < NEST_LEN; off += NEST_CHUNK) {
			if (kind == NEST_DIO_WRITE) {
				if (pwrite(dfd, map + off, NEST_CHUNK, off) != NEST_CHUNK)
					die("O_DIRECT pwrite from mmap at %lld",
					    (long long)off);
				ops++;
				continue;
			}
			if (pread(dfd, map + off, NEST_CHUNK, off) != NEST_CHUNK)
				die("pread into mmap at %lld", (long long)off);
			ops++;
			if (kind != NEST_READ || off + NEST_CHUNK + 4096 > NEST_LEN)
				continue;
			if (pread(fd, map + off + 4096, NEST_CHUNK, off) != NEST_CHUNK)
				die("pread into shifted mmap at %lld", (long long)off);
			ops++;
		}
	}
	if (kind == NEST_DIO_WRITE)
		printf("mxio %s: %ld direct writes from the mmap of their own range\n",
		       cmd, ops);
	else
		printf("mxio %s: %ld %sreads into the mmap of their own range\n",
		       cmd, ops, kind == NEST_DIO_READ ? "direct " : "");
	return 0;
}

/* ---- write() from an mmap of the range being punched ------------------- */

#define WP_LEN		(256 * KB)

static int wp_fd;
static char *wp_map;
static long wp_writes, wp_punches, wp_touches;

static void *wp_writer(void *arg)
{
	off_t off;

	(void)arg;
	while (!expired()) {
		for (off = 0; off < WP_LEN; off += NEST_CHUNK) {
			/* Source: the very range written. */
			if (pwrite(wp_fd, wp_map + off, NEST_CHUNK, off) != NEST_CHUNK)
				die("pwrite from mmap at %lld", (long long)off);
			/* Source: a neighbouring page of the same file. */
			if (pwrite(wp_fd, wp_map + (off + 4096) % WP_LEN, 4096,
				   off) != 4096)
				die("pwrite from shifted mmap at %lld", (long long)off);
			wp_writes += 2;
		}
	}
	return NULL;
}

static void *wp_puncher(void *arg)
{
	(void)arg;
	while (!expired()) {
		if (fallocate(wp_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      0, WP_LEN))
			die("fallocate punch");
		wp_punches++;
	}
	return NULL;
}

static void *wp_toucher(void *arg)
{
	volatile char *m = wp_map;
	unsigned long sum = 0;
	off_t off;

	(void)arg;
	while (!expired()) {
		for (off = 0; off < WP_LEN; off += 4096)
			sum += m[off];
		wp_touches++;
	}
	return (void *)sum;
}

static int cmd_write_punch(void)
{
	pthread_t t[3];
	int i;

	wp_fd = open_file(0);
	prepare(wp_fd, WP_LEN);
	wp_map = map_file(wp_fd, 0, WP_LEN);
	pthread_create(&t[0], NULL, wp_writer, NULL);
	pthread_create(&t[1], NULL, wp_puncher, NULL);
	pthread_create(&t[2], NULL, wp_toucher, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("mxio %s: %ld writes from the mmap, %ld punches, %ld touch passes\n",
	       cmd, wp_writes, wp_punches, wp_touches);
	return 0;
}

/* ---- two processes, direct IO into each other's mmap ------------------- */

#define CROSS_LEN	(256 * KB)
#define CROSS_B		(1 * MB)

static long cross_one(off_t mine, off_t theirs)
{
	int fd = open_file(0), dfd = open_file(O_DIRECT);
	char *map = map_file(fd, 0, 2 * MB);
	long ops = 0;
	off_t off;

	while (!expired()) {
		if (madvise(map + theirs, CROSS_LEN, MADV_DONTNEED))
			die("madvise");
		for (off = 0; off < CROSS_LEN; off += NEST_CHUNK) {
			ssize_t r = pread(dfd, map + theirs + off, NEST_CHUNK,
					  mine + off);

			if (r != NEST_CHUNK && !csum_error(r))
				die("O_DIRECT pread at %lld into mmap at %lld",
				    (long long)(mine + off),
				    (long long)(theirs + off));
			ops++;
		}
	}
	return ops;
}

static int cmd_cross_dio(void)
{
	int fd = open_file(0), status;
	long ops;
	pid_t pid;

	prepare(fd, 2 * MB);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		ops = cross_one(CROSS_B, 0);
		printf("mxio %s: %ld direct reads into the other process's mmap (other side), %ld EIO/EUCLEAN\n",
		       cmd, ops, csum_errors);
		exit(0);
	}
	ops = cross_one(0, CROSS_B);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "mxio %s: the other process failed\n", cmd);
		return 1;
	}
	printf("mxio %s: %ld direct reads into the other process's mmap (one side), %ld EIO/EUCLEAN\n",
	       cmd, ops, csum_errors);
	return 0;
}

/* ---- mmap/munmap loop next to direct IO and faults --------------------- */

#define ML_LEN		(3 * MB)

static int ml_fd, ml_dfd;
static long ml_maps, ml_dios, ml_faults;

static void *ml_mapper(void *arg)
{
	unsigned int seed = 1;
	off_t off;
	char *m;

	(void)arg;
	while (!expired()) {
		off = (rand_r(&seed) % 8) * 256 * KB;
		m = map_file(ml_fd, off, 256 * KB);
		m[rand_r(&seed) % (256 * KB)]++;
		m[4096 * (rand_r(&seed) % 64)] ^= 1;
		if (munmap(m, 256 * KB))
			die("munmap");
		ml_maps++;
	}
	return NULL;
}

static void *ml_dio(void *arg)
{
	char *buf = aligned_buf(64 * KB);
	unsigned int seed = 2;
	ssize_t r;
	off_t off;
	char *m;

	(void)arg;
	while (!expired()) {
		off = (rand_r(&seed) % 32) * 64 * KB;
		r = pread(ml_dfd, buf, 64 * KB, off);
		if (r != 64 * KB && !csum_error(r))
			die("O_DIRECT pread at %lld", (long long)off);
		/* Direct writes stay out of the ranges mapped for stores. */
		if (pwrite(ml_dfd, buf, 64 * KB, 2 * MB + off % MB) != 64 * KB)
			die("O_DIRECT pwrite at %lld", (long long)(2 * MB + off % MB));
		m = map_file(ml_fd, 0, 2 * MB);
		r = pread(ml_dfd, m + off, 64 * KB, 2 * MB + off % MB);
		if (r != 64 * KB && !csum_error(r))
			die("O_DIRECT pread into a fresh mmap at %lld",
			    (long long)off);
		if (munmap(m, 2 * MB))
			die("munmap");
		ml_dios += 3;
	}
	free(buf);
	return NULL;
}

static void *ml_faulter(void *arg)
{
	unsigned int seed = 3;
	volatile char *m = map_file(ml_fd, 0, 2 * MB);
	long i;

	(void)arg;
	while (!expired()) {
		i = 4096L * (rand_r(&seed) % 512);
		if (rand_r(&seed) & 1)
			m[i] = m[i] + 1;
		else
			(void)m[i];
		if ((ml_faults++ & 255) == 0 &&
		    madvise((char *)m, 2 * MB, MADV_DONTNEED))
			die("madvise");
	}
	return NULL;
}

static int cmd_mmap_loop(void)
{
	pthread_t t[3];
	int i;

	ml_fd = open_file(0);
	ml_dfd = open_file(O_DIRECT);
	prepare(ml_fd, ML_LEN);
	pthread_create(&t[0], NULL, ml_mapper, NULL);
	pthread_create(&t[1], NULL, ml_dio, NULL);
	pthread_create(&t[2], NULL, ml_faulter, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("mxio %s: %ld mmap/munmap, %ld direct IOs, %ld touches, %ld EIO/EUCLEAN\n",
	       cmd, ml_maps, ml_dios, ml_faults, csum_errors);
	return 0;
}

/* ---- liveness: faults against direct writes ---------------------------- */

#define LV_LEN		(256 * KB)
#define LV_FILE		(1 * MB)

static int lv_fd, lv_dfd;
static atomic_long lv_dio_writes;

/* fiemap: sub-block O_DIRECT writes that end at EOF. */
static void *fm_writer(void *arg)
{
	char *buf = aligned_buf(4096);

	(void)arg;
	while (!expired()) {
		if (pwrite(lv_dfd, buf, 512, LV_FILE - 512) != 512) {
			if (errno == EINVAL)	/* 4k-sector device: whole block */
				die("sub-block direct write refused");
			die("fiemap writer pwrite");
		}
		atomic_fetch_add(&lv_dio_writes, 1);
	}
	free(buf);
	return NULL;
}

static int cmd_fiemap(void)
{
	long calls = 0, ok = 0, efault = 0;
	size_t room = 4096 - sizeof(struct fiemap);
	pthread_t t;

	lv_fd = open_file(0);
	lv_dfd = open_file(O_DIRECT);
	prepare(lv_fd, LV_FILE);
	if (ftruncate(lv_fd, LV_FILE))
		die("ftruncate");
	pthread_create(&t, NULL, fm_writer, NULL);
	while (!expired()) {
		struct fiemap *fm;
		char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
				 lv_fd, LV_FILE - 4096);

		if (map == MAP_FAILED)
			die("mmap last page");
		fm = (struct fiemap *)map;
		memset(fm, 0, sizeof(*fm));
		fm->fm_length = FIEMAP_MAX_OFFSET;
		fm->fm_extent_count = room / sizeof(struct fiemap_extent);
		if (ioctl(lv_fd, FS_IOC_FIEMAP, fm) == 0)
			ok++;
		else if (errno == EFAULT)
			efault++;
		else
			die("FS_IOC_FIEMAP");
		calls++;
		munmap(map, 4096);
	}
	pthread_join(t, NULL);
	printf("mxio %s: %ld FIEMAP calls into a mapping of the file (%ld ok, %ld EFAULT), %ld sub-block direct writes at EOF\n",
	       cmd, calls, ok, efault, atomic_load(&lv_dio_writes));
	if (!calls || !atomic_load(&lv_dio_writes)) {
		fprintf(stderr, "mxio %s: one side made no progress\n", cmd);
		return 1;
	}
	return 0;
}

/* starve and kill: back-to-back O_DIRECT writes over [0, LV_LEN). */
static void *lv_dio_stream(void *arg)
{
	char *buf = aligned_buf(LV_LEN);

	(void)arg;
	while (!expired()) {
		if (pwrite(lv_dfd, buf, LV_LEN, 0) != LV_LEN)
			die("direct write stream");
		atomic_fetch_add(&lv_dio_writes, 1);
	}
	free(buf);
	return NULL;
}

#define ST_MAX_THREADS	16
static char *lv_map;
static long st_stores[ST_MAX_THREADS];

static void *st_storer(void *arg)
{
	long id = (long)arg, n = 0;

	while (!expired()) {
		/* a different page each time, all inside the stream's range */
		lv_map[(n * 4096 + id * 8) % LV_LEN] = (char)n;
		n++;
	}
	st_stores[id] = n;
	return NULL;
}

static int cmd_starve(int nthreads)
{
	pthread_t dio[2], st[ST_MAX_THREADS];
	int i, starved = 0;

	if (nthreads < 1 || nthreads > ST_MAX_THREADS)
		nthreads = 2;
	lv_fd = open_file(0);
	lv_dfd = open_file(O_DIRECT);
	prepare(lv_fd, LV_FILE);
	lv_map = map_file(lv_fd, 0, LV_LEN);
	for (i = 0; i < 2; i++)
		pthread_create(&dio[i], NULL, lv_dio_stream, NULL);
	for (i = 0; i < nthreads; i++)
		pthread_create(&st[i], NULL, st_storer, (void *)(long)i);
	for (i = 0; i < 2; i++)
		pthread_join(dio[i], NULL);
	for (i = 0; i < nthreads; i++)
		pthread_join(st[i], NULL);
	printf("mxio %s: %ld direct writes; stores per thread:", cmd,
	       atomic_load(&lv_dio_writes));
	for (i = 0; i < nthreads; i++) {
		printf(" %ld", st_stores[i]);
		starved |= st_stores[i] == 0;
	}
	printf("\n");
	if (starved) {
		fprintf(stderr, "mxio %s: a storing thread never completed a store\n", cmd);
		return 1;
	}
	return 0;
}

/* ---- gap zeroing of a direct write past EOF ------------------------------ */

#define GZ_SIZE		(1 * MB + 512)	/* EOF inside a written block */
#define GZ_PAST		(1 * MB + 8 * KB)	/* a block past that block */
#define GZ_INSIDE	(1 * MB - 64 * KB)	/* inside EOF, same 2 MiB folio */

static atomic_long gz_extends, gz_inside;

static void *gz_inside_writer(void *arg)
{
	char *buf = aligned_buf(4096);
	int dfd = open_file(O_DIRECT);

	(void)arg;
	memset(buf, 'i', 4096);
	while (!expired()) {
		if (pwrite(dfd, buf, 4096, GZ_INSIDE) != 4096)
			die("direct write inside EOF");
		atomic_fetch_add(&gz_inside, 1);
	}
	close(dfd);
	return NULL;
}

static int cmd_gap_zero(void)
{
	int fd = open_file(0), dfd = open_file(O_DIRECT);
	char *buf = aligned_buf(4096);
	pthread_t t;

	prepare(fd, GZ_SIZE);
	memset(buf, 'p', 4096);
	pthread_create(&t, NULL, gz_inside_writer, NULL);
	while (!expired()) {
		/* clean, so that the zeroing past it dirties the folio */
		if (ftruncate(fd, GZ_SIZE) || fdatasync(fd))
			die("ftruncate");
		if (pwrite(dfd, buf, 4096, GZ_PAST) != 4096)
			die("direct write past EOF");
		atomic_fetch_add(&gz_extends, 1);
	}
	pthread_join(t, NULL);
	printf("mxio %s: %ld direct writes past EOF, %ld inside EOF\n", cmd,
	       atomic_load(&gz_extends), atomic_load(&gz_inside));
	return 0;
}

/* ---- a direct read's pages, dirtied late, against direct writes ---------- */

/*
 * A stream of O_DIRECT writes of @chunk bytes, each to a random one of
 * @nfd files at a random chunk of their first @span bytes, until the
 * deadline.  Run as a thread; @writes counts them.
 */
struct dio_stream {
	const int	*fd;
	unsigned int	nfd;
	size_t		chunk;
	off_t		span;
	off_t		base;	/* of the span, 0 if not set */
	unsigned int	seed;
	atomic_long	writes;
};

static void *dio_stream_run(void *arg)
{
	struct dio_stream *ds = arg;
	char *buf = aligned_buf(ds->chunk);

	memset(buf, 'w', ds->chunk);
	while (!expired()) {
		int fd = ds->fd[rand_r(&ds->seed) % ds->nfd];
		off_t off = ds->base + (rand_r(&ds->seed) %
					(ds->span / ds->chunk)) * ds->chunk;
		ssize_t r = pwrite(fd, buf, ds->chunk, off);

		if (r != (ssize_t)ds->chunk && !csum_error(r))
			die("O_DIRECT pwrite at %lld", (long long)off);
		atomic_fetch_add(&ds->writes, 1);
	}
	free(buf);
	return NULL;
}

#define RD_LEN		(2 * MB)
#define RD_CHUNK	(256 * KB)

static int rd_fd, rd_dfd;
static atomic_long rd_syncs, rd_eio;
static struct dio_stream rd_stream = {
	.fd = &rd_dfd, .nfd = 1, .chunk = RD_CHUNK, .span = RD_LEN, .seed = 5,
};

static void *rd_cleaner(void *arg)
{
	(void)arg;
	while (!expired()) {
		int r = sync_file_range(rd_fd, 0, RD_LEN,
					SYNC_FILE_RANGE_WRITE |
					SYNC_FILE_RANGE_WAIT_AFTER);

		/* btrfs: EIO or EUCLEAN, see csum_error() */
		if (r && errno != EIO && errno != EUCLEAN)
			die("sync_file_range");
		if (r)
			atomic_fetch_add(&rd_eio, 1);
		atomic_fetch_add(&rd_syncs, 1);
	}
	return NULL;
}

static int cmd_redirty(void)
{
	char src[4096];
	unsigned int seed = 4;
	pthread_t cleaner, writer;
	long reads = 0;
	int sfd;
	char *m;

	snprintf(src, sizeof(src), "%s-src", path);
	rd_fd = open_file(0);
	rd_dfd = open_file(O_DIRECT);
	sfd = open(src, O_RDWR | O_CREAT, 0644);
	if (sfd < 0)
		die("open %s", src);
	prepare(rd_fd, RD_LEN);
	prepare(sfd, RD_LEN);
	close(sfd);
	sfd = open(src, O_RDONLY | O_DIRECT);
	if (sfd < 0)
		die("open %s O_DIRECT", src);
	m = map_file(rd_fd, 0, RD_LEN);
	pthread_create(&cleaner, NULL, rd_cleaner, NULL);
	pthread_create(&writer, NULL, dio_stream_run, &rd_stream);
	while (!expired()) {
		off_t off = (rand_r(&seed) % (RD_LEN / RD_CHUNK)) * RD_CHUNK;
		ssize_t r = pread(sfd, m + off, RD_CHUNK, off);

		if (r != RD_CHUNK && !csum_error(r))
			die("O_DIRECT pread into the mapping at %lld",
			    (long long)off);
		reads++;
	}
	pthread_join(cleaner, NULL);
	pthread_join(writer, NULL);
	if (fdatasync(rd_fd) && (errno == EIO || errno == EUCLEAN))
		atomic_fetch_add(&rd_eio, 1);
	printf("mxio %s: %ld direct reads into the mapping, %ld direct writes, %ld syncs, %ld EIO/EUCLEAN\n",
	       cmd, reads, atomic_load(&rd_stream.writes), atomic_load(&rd_syncs),
	       atomic_load(&rd_eio) + csum_errors);
	return 0;
}

/* ---- a direct read whose buffer maps many guarded files ----------------- */

/* More files than a set holds in itself (4) and than lockdep's subclasses */
#define MANY_FILES	9
#define MANY_PIECE	(16 * KB)	/* of each file, in the buffer */

static int many_dfd[MANY_FILES];
static struct dio_stream many_stream = {
	.fd = many_dfd, .nfd = MANY_FILES, .chunk = MANY_PIECE,
	.span = MANY_PIECE, .seed = 7,
};

/*
 * Once quiet: after fsync, what the page cache holds of [0, len) is what
 * the disk does (@dfd: an O_DIRECT descriptor of the same file).
 */
static void check_cache_is_disk(int fd, int dfd, size_t len, const char *what)
{
	char *cached = aligned_buf(len), *disk = aligned_buf(len);

	if (fsync(fd) && errno != EIO && errno != EUCLEAN)
		die("fsync %s", what);
	if (pread(fd, cached, len, 0) != (ssize_t)len ||
	    pread(dfd, disk, len, 0) != (ssize_t)len)
		die("reading back %s", what);
	if (memcmp(cached, disk, len))
		die("%s: its page cache differs from the disk (stale cache)", what);
	free(cached);
	free(disk);
}

static void many_check(int fd, int dfd, unsigned int i)
{
	char what[32];

	snprintf(what, sizeof(what), "file %u", i);
	check_cache_is_disk(fd, dfd, MANY_PIECE, what);
}

static int cmd_many_files(void)
{
	size_t len = MANY_FILES * MANY_PIECE;
	int fd[MANY_FILES], sfd;
	char name[4096];
	pthread_t writer;
	long reads = 0;
	unsigned int i;
	char *m;

	/* one buffer: a piece of each file's shared mapping, side by side */
	m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap reserve");
	for (i = 0; i < MANY_FILES; i++) {
		snprintf(name, sizeof(name), "%s-%u", path, i);
		fd[i] = open(name, O_RDWR | O_CREAT, 0644);
		if (fd[i] < 0)
			die("open %s", name);
		prepare(fd[i], MANY_PIECE);
		many_dfd[i] = open(name, O_RDWR | O_DIRECT);
		if (many_dfd[i] < 0)
			die("open %s O_DIRECT", name);
		if (mmap(m + i * MANY_PIECE, MANY_PIECE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd[i], 0) == MAP_FAILED)
			die("mmap %s", name);
	}
	sfd = open_file(0);
	prepare(sfd, len);
	close(sfd);
	sfd = open_file(O_DIRECT);
	pthread_create(&writer, NULL, dio_stream_run, &many_stream);
	while (!expired()) {
		ssize_t r = pread(sfd, m, len, 0);

		if (r != (ssize_t)len && !csum_error(r))
			die("O_DIRECT pread into %d files' mappings returned %zd",
			    MANY_FILES, r);
		reads++;
	}
	pthread_join(writer, NULL);
	for (i = 0; i < MANY_FILES; i++)
		many_check(fd[i], many_dfd[i], i);
	printf("mxio %s: %ld direct reads into %d files' mappings, %ld direct writes to them, %ld EIO/EUCLEAN, page cache = disk in each\n",
	       cmd, reads, MANY_FILES, atomic_load(&many_stream.writes), csum_errors);
	return 0;
}

/* ---- sendfile from a file under direct writes ---------------------------- */

#define SF_LEN		(1 * MB)
#define SF_CHUNK	(64 * KB)

static int sf_dfd;
static struct dio_stream sf_stream = {
	.fd = &sf_dfd, .nfd = 1, .chunk = 16 * KB, .span = SF_LEN, .seed = 9,
};

static int cmd_sendfile(void)
{
	unsigned int seed = 8;
	pthread_t writer;
	long sends = 0;
	int fd, null;

	fd = open_file(0);
	prepare(fd, SF_LEN);
	sf_dfd = open_file(O_DIRECT);
	null = open("/dev/null", O_WRONLY);
	if (null < 0)
		die("open /dev/null");
	pthread_create(&writer, NULL, dio_stream_run, &sf_stream);
	while (!expired()) {
		/* off the grid: any byte offset, across folios */
		off_t off = rand_r(&seed) % (SF_LEN - SF_CHUNK);
		size_t want = SF_CHUNK - rand_r(&seed) % 512;
		ssize_t r = sendfile(null, fd, &off, want);

		if (r != (ssize_t)want && !csum_error(r))
			die("sendfile of %zu at %lld returned %zd", want,
			    (long long)off, r);
		/* now and then from a cold cache: splice reads the disk */
		if (!(++sends % 8))
			posix_fadvise(fd, 0, SF_LEN, POSIX_FADV_DONTNEED);
	}
	pthread_join(writer, NULL);
	check_cache_is_disk(fd, sf_dfd, SF_LEN, "the file");
	printf("mxio %s: %ld sendfile calls, %ld direct writes, %ld EIO/EUCLEAN, page cache = disk\n",
	       cmd, sends, atomic_load(&sf_stream.writes), csum_errors);
	return 0;
}

/* ---- asynchronous direct IO from and into mappings of a busy file ------- */

#define AM_LEN		(1 * MB)
#define AM_CHUNK	(64 * KB)

static int am_dfd;
/* direct writes over the whole mapped range of FILE, without pause */
static struct dio_stream am_stream = {
	.fd = &am_dfd, .nfd = 1, .chunk = AM_CHUNK, .span = AM_LEN, .seed = 8,
};

/*
 * One IO through the aio system calls (no libaio), on pages of a mapping
 * just unmapped, so that GUP faults them: its result (bytes, or -errno).
 */
static long long aio_one(aio_context_t ctx, int fd, int op, char *buf,
			 size_t len, off_t off)
{
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	struct io_event ev;

	if (madvise(buf, len, MADV_DONTNEED))
		die("madvise");
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = op;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = len;
	cb.aio_offset = off;
	if (syscall(SYS_io_submit, ctx, 1, cbs) != 1)
		die("io_submit");
	if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1)
		die("io_getevents");
	return ev.res;
}

/*
 * An IO that did not do all of @len: fine only if it failed its checksum
 * (see csum_error()).
 */
static void aio_short(long long res, const char *what)
{
	errno = res < 0 ? -res : 0;
	if (!csum_error(res < 0 ? -1 : 0))
		die("%s returned %lld", what, res);
}

/* One IO of FILE's mapping (aio_one()): it must do all of it. */
static void am_io(aio_context_t ctx, int fd, int op, char *buf, off_t off,
		  const char *what)
{
	long long res = aio_one(ctx, fd, op, buf, AM_CHUNK, off);

	if (res != AM_CHUNK)
		aio_short(res, what);
}

static int cmd_aio_mmap(void)
{
	aio_context_t ctx = 0;
	char other[4096];
	long writes = 0, reads = 0;
	unsigned int seed = 9;
	pthread_t writer;
	int fd, ofd;
	char *shared, *private;

	fd = open_file(0);
	am_dfd = open_file(O_DIRECT);
	prepare(fd, AM_LEN);
	snprintf(other, sizeof(other), "%s-other", path);
	ofd = open(other, O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (ofd < 0 || ftruncate(ofd, AM_LEN))
		die("open %s", other);
	shared = map_file(fd, 0, AM_LEN);
	private = mmap(NULL, AM_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (private == MAP_FAILED)
		die("mmap private");
	if (syscall(SYS_io_setup, 8, &ctx))
		die("io_setup");
	pthread_create(&writer, NULL, dio_stream_run, &am_stream);
	while (!expired()) {
		off_t off = (rand_r(&seed) % (AM_LEN / AM_CHUNK)) * AM_CHUNK;

		am_io(ctx, ofd, IOCB_CMD_PWRITE, shared + off, off,
		      "async O_DIRECT write from FILE's shared mapping");
		writes++;
		/* a private page is copied from FILE's page on the fault */
		am_io(ctx, ofd, IOCB_CMD_PREAD, private + off, off,
		      "async O_DIRECT read into FILE's private mapping");
		reads++;
	}
	pthread_join(writer, NULL);
	syscall(SYS_io_destroy, ctx);
	printf("mxio %s: %ld async direct writes from the shared mapping, %ld async direct reads into the private one, %ld direct writes to FILE, %ld EIO/EUCLEAN\n",
	       cmd, writes, reads, atomic_load(&am_stream.writes), csum_errors);
	return 0;
}

/*
 * aio-own: asynchronous direct writes of FILE's first half whose source is
 * a shared mapping of its second half, just unmapped, while another
 * thread direct-writes the second half.  An IO spans more pages than one
 * bio holds, so GUP faults the source between bios: a refused fault there
 * would fail the whole IO after part of it was queued.
 */
#define AO_LEN		(4 * MB)
#define AO_CHUNK	(1536 * KB)

static int ao_dfd;
/* direct writes over the second half, the writes' source */
static struct dio_stream ao_stream = {
	.fd = &ao_dfd, .nfd = 1, .chunk = 256 * KB, .span = AO_LEN / 2,
	.base = AO_LEN / 2, .seed = 11,
};

static int cmd_aio_own(void)
{
	aio_context_t ctx = 0;
	long writes = 0, full = 0;
	pthread_t writer;
	char *m;
	int fd;

	fd = open_file(0);
	ao_dfd = open_file(O_DIRECT);
	prepare(fd, AO_LEN);
	m = map_file(fd, 0, AO_LEN);
	if (syscall(SYS_io_setup, 4, &ctx))
		die("io_setup");
	pthread_create(&writer, NULL, dio_stream_run, &ao_stream);
	while (!expired()) {
		char *src = m + AO_LEN / 2 + (writes % 2) * (AO_LEN / 2 - AO_CHUNK);
		off_t off = (writes % 2) * (AO_LEN / 2 - AO_CHUNK);
		long long res = aio_one(ctx, ao_dfd, IOCB_CMD_PWRITE, src,
					AO_CHUNK, off);

		writes++;
		if (res == AO_CHUNK)
			full++;
		else
			aio_short(res, "async O_DIRECT write from the file's own mapping");
	}
	pthread_join(writer, NULL);
	syscall(SYS_io_destroy, ctx);
	check_cache_is_disk(fd, ao_dfd, AO_LEN, "the file");
	printf("mxio %s: %ld async direct writes from the file's own mapping (%ld in full), %ld direct writes to the source, %ld EIO/EUCLEAN, page cache = disk\n",
	       cmd, writes, full, atomic_load(&ao_stream.writes), csum_errors);
	return 0;
}

/* ---- the kernel storing into the mapping through pinned pages ------------ */

static int cmd_remote_write(void)
{
	char *buf = aligned_buf(RD_CHUNK);
	long pv = 0, mem = 0, poke = 0, efault = 0;
	unsigned int seed = 6;
	pthread_t cleaner, writer;
	pid_t self = getpid(), child;
	int memfd, status;
	char *m;

	rd_fd = open_file(0);
	rd_dfd = open_file(O_DIRECT);
	prepare(rd_fd, RD_LEN);
	memfd = open("/proc/self/mem", O_RDWR);
	if (memfd < 0)
		die("open /proc/self/mem");
	memset(buf, 'r', RD_CHUNK);
	m = map_file(rd_fd, 0, RD_LEN);
	/* a child sharing the mapping, traced, for PTRACE_POKEDATA */
	child = fork();
	if (child < 0)
		die("fork");
	if (!child)
		for (;;)
			pause();
	if (ptrace(PTRACE_ATTACH, child, NULL, NULL) ||
	    waitpid(child, &status, 0) != child)
		die("PTRACE_ATTACH");
	pthread_create(&cleaner, NULL, rd_cleaner, NULL);
	pthread_create(&writer, NULL, dio_stream_run, &rd_stream);
	while (!expired()) {
		off_t off = (rand_r(&seed) % (RD_LEN / RD_CHUNK)) * RD_CHUNK;
		struct iovec local = { buf, RD_CHUNK };
		struct iovec remote = { m + off, RD_CHUNK };
		ssize_t r;

		switch ((pv + mem + poke) % 3) {
		case 0:
			r = process_vm_writev(self, &local, 1, &remote, 1, 0);
			pv++;
			break;
		case 1:
			r = pwrite(memfd, buf, RD_CHUNK,
				   (off_t)(uintptr_t)(m + off));
			mem++;
			break;
		default:	/* one word in each page of the chunk */
			r = RD_CHUNK;
			for (size_t i = 0; i < RD_CHUNK; i += 4096)
				if (ptrace(PTRACE_POKEDATA, child, m + off + i,
					   (void *)0x7070707070707070UL))
					r = -1;
			poke++;
			break;
		}
		if (r == RD_CHUNK)
			continue;
		if (r >= 0 || errno == EFAULT || errno == EIO)
			efault++;	/* short, or a refused fault */
		else
			die("remote write into the mapping at %lld",
			    (long long)off);
	}
	pthread_join(cleaner, NULL);
	pthread_join(writer, NULL);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	if (fdatasync(rd_fd) && (errno == EIO || errno == EUCLEAN))
		atomic_fetch_add(&rd_eio, 1);
	printf("mxio %s: %ld process_vm_writev, %ld /proc/self/mem writes, %ld ptrace pokes, %ld short or refused, %ld direct writes, %ld syncs, %ld EIO/EUCLEAN\n",
	       cmd, pv, mem, poke, efault, atomic_load(&rd_stream.writes),
	       atomic_load(&rd_syncs), atomic_load(&rd_eio) + csum_errors);
	free(buf);
	return 0;
}

/* ---- one xfs exchange-range ----------------------------------------------- */

struct mxio_exchange_range {	/* the ioctl's ABI, as xfs defines it */
	int32_t file1_fd;
	uint32_t pad;
	uint64_t file1_offset, file2_offset, length, flags;
};
#define MXIO_IOC_EXCHANGE_RANGE	_IOW('X', 129, struct mxio_exchange_range)

static int cmd_exchange_range(const char *file2)
{
	struct mxio_exchange_range xr = { .length = 64 * KB };
	int fd2 = open(file2, O_RDWR);

	xr.file1_fd = open_file(0);
	if (fd2 < 0)
		die("open %s", file2);
	if (ioctl(fd2, MXIO_IOC_EXCHANGE_RANGE, &xr)) {
		if (errno == ENOTTY || errno == EOPNOTSUPP) {
			fprintf(stderr, "mxio %s: not supported: %s\n", cmd,
				strerror(errno));
			return 1;
		}
		die("XFS_IOC_EXCHANGE_RANGE");
	}
	printf("mxio %s: exchanged 64 KiB\n", cmd);
	return 0;
}

/* ---- one ext4 move_ext --------------------------------------------------- */

struct mxio_move_extent {	/* the ioctl's ABI, as ext4 defines it */
	uint32_t reserved, donor_fd;
	uint64_t orig_start, donor_start, len, moved_len;
};
#define MXIO_IOC_MOVE_EXT	_IOWR('f', 15, struct mxio_move_extent)

static int cmd_move_ext(const char *donor)
{
	struct mxio_move_extent me = { .len = 16 };
	int fd = open_file(0), dfd = open(donor, O_RDWR);

	if (dfd < 0)
		die("open %s", donor);
	me.donor_fd = dfd;
	if (ioctl(fd, MXIO_IOC_MOVE_EXT, &me)) {
		if (errno == ENOTTY || errno == EOPNOTSUPP) {
			fprintf(stderr, "mxio %s: not supported: %s\n", cmd,
				strerror(errno));
			return 1;
		}
		die("EXT4_IOC_MOVE_EXT");
	}
	printf("mxio %s: moved %llu blocks\n", cmd,
	       (unsigned long long)me.moved_len);
	return 0;
}

static int cmd_kill(void)
{
	double killed_at;
	pthread_t dio;
	int status;
	pid_t pid;

	lv_fd = open_file(0);
	lv_dfd = open_file(O_DIRECT);
	prepare(lv_fd, LV_FILE);
	lv_map = map_file(lv_fd, 0, LV_LEN);
	pthread_create(&dio, NULL, lv_dio_stream, NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		long n = 0;

		for (;;)
			lv_map[(n++ * 4096) % LV_LEN] = 1;
	}
	/* let the child run into the stream, then kill it mid-stream */
	usleep(500 * 1000);
	killed_at = now();
	if (kill(pid, SIGKILL))
		die("kill");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	/* reaped: the stream must still be running (the wait was killable) */
	if (expired()) {
		fprintf(stderr, "mxio %s: the child was reaped only after the direct write stream ended\n",
			cmd);
		stop = 1;
		pthread_join(dio, NULL);
		return 1;
	}
	stop = 1;
	pthread_join(dio, NULL);
	printf("mxio %s: child killed by signal %d, reaped %.3f s after SIGKILL, before the stream of %ld direct writes ended\n",
	       cmd, WIFSIGNALED(status) ? WTERMSIG(status) : 0, now() - killed_at,
	       atomic_load(&lv_dio_writes));
	return !WIFSIGNALED(status);
}

/* ---- the mix ----------------------------------------------------------- */

#define MIX_BASE	(8 * MB)
#define MIX_MAP		(8 * MB)

static sigjmp_buf mix_jmp;
static volatile sig_atomic_t mix_in_map;

static void mix_sigbus(int sig)
{
	(void)sig;
	if (mix_in_map)
		siglongjmp(mix_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* Errors a correct kernel may return for a random request here. */
static int mix_allowed(int e)
{
	return e == EINVAL || e == EOPNOTSUPP || e == EFAULT ||
	       e == ENOSPC || e == EBUSY;
}

#define MIX_NR_OPS	14
static const char *const mix_names[MIX_NR_OPS] = {
	"pread", "pwrite", "dio-read", "dio-write", "mmap-read", "mmap-write",
	"punch", "zero", "collapse", "insert", "truncate", "dio-into-mmap",
	"write-from-mmap", "fsync",
};

static int mix_one(int id, long *counts, long *sigbus, long *eio)
{
	unsigned int seed = 1000 + id;
	int fd = open_file(0), dfd = open_file(O_DIRECT);
	char *buf = aligned_buf(256 * KB);
	struct sigaction sa = { .sa_handler = mix_sigbus };
	struct statfs sfs;
	/*
	 * btrfs (6.12) refuses to write back a page dirtied through a direct
	 * IO pin (op 11) and fails the ordered extent: a later truncate,
	 * collapse or insert, which waits for ordered extents, reports that
	 * EIO or EUCLEAN.  Elsewhere such an error from them is a failure.
	 */
	int ordered_wait_eio_ok = !fstatfs(fd, &sfs) &&
				  sfs.f_type == BTRFS_SUPER_MAGIC;
	char *map = map_file(fd, 0, MIX_MAP);
	volatile char *vmap = map;
	/* live across the SIGBUS siglongjmp below */
	volatile off_t len, asked;
	volatile ssize_t r;
	volatile int op;
	off_t off;

	sigaction(SIGBUS, &sa, NULL);
	while (!expired()) {
		op = rand_r(&seed) % MIX_NR_OPS;
		off = (off_t)(rand_r(&seed) % (MIX_BASE / 4096)) * 4096;
		len = (off_t)(1 + rand_r(&seed) % 64) * 4096;
		if (off + len > MIX_BASE)
			len = MIX_BASE - off;
		r = 0;
		errno = 0;
		asked = len;	/* no call may report more than this */
		switch (op) {
		case 0:
			asked = len - rand_r(&seed) % 4096;
			r = pread(fd, buf, asked, off + rand_r(&seed) % 4096);
			break;
		case 1:
			memset(buf, 'A' + id, len);
			asked = len - rand_r(&seed) % 4096;
			r = pwrite(fd, buf, asked, off + rand_r(&seed) % 4096);
			break;
		case 2:
			r = pread(dfd, buf, len, off);
			break;
		case 3:
			memset(buf, 'a' + id, len);
			r = pwrite(dfd, buf, len, off);
			break;
		case 4:
		case 5:
			mix_in_map = 1;
			if (sigsetjmp(mix_jmp, 1)) {
				(*sigbus)++;
			} else {
				long i;

				for (i = 0; i < len; i += 4096) {
					if (op == 4)
						(void)vmap[off + i];
					else
						vmap[off + i] = 'm';
				}
			}
			mix_in_map = 0;
			break;
		case 6:
			r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      off + rand_r(&seed) % 4096, len);
			break;
		case 7:
			r = fallocate(fd, FALLOC_FL_ZERO_RANGE,
				      off + rand_r(&seed) % 4096, len);
			break;
		case 8:
			r = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, off,
				      64 * KB);
			break;
		case 9:
			r = fallocate(fd, FALLOC_FL_INSERT_RANGE, off, 64 * KB);
			break;
		case 10:
			r = ftruncate(fd, MIX_BASE - 2 * MB +
				      rand_r(&seed) % (4 * MB));
			break;
		case 11:
			/* Direct read of one range into the mmap of another. */
			r = pread(dfd, map + (MIX_BASE - len - off), len, off);
			break;
		case 12:
			r = pwrite(fd, map + off, len, (off + len) % MIX_BASE);
			break;
		case 13:
			r = rand_r(&seed) % 8 ? 0 : fsync(fd);
			break;
		}
		if (r > asked)
			die("%s at %lld returned %lld of %lld bytes",
			    mix_names[op], (long long)off, (long long)r,
			    (long long)asked);
		if (r < 0) {
			if ((errno == EIO || errno == EUCLEAN) &&
			    (ordered_wait_eio_ok || (op != 8 && op != 9 && op != 10))) {
				/*
				 * fsync or a direct write reporting a page
				 * the kernel could not drop; a direct read
				 * into a mapping past EOF (seen on ext4); a
				 * btrfs checksum failed by pages changed
				 * under direct IO (csum_error()); on btrfs,
				 * a failed ordered extent (above).
				 */
				(*eio)++;
				fprintf(stderr, "mxio mix: %s at %lld len %lld: %s (tolerated)\n",
					mix_names[op], (long long)off,
					(long long)len, strerror(errno));
			} else if (!mix_allowed(errno)) {
				die("%s at %lld len %lld", mix_names[op],
				    (long long)off, (long long)len);
			}
		}
		counts[op]++;
	}
	return 0;
}

static pid_t mix_pids[64];
static int mix_nproc;

/* A stopped mix stops its processes too. */
static void mix_sigterm(int sig)
{
	int i;

	for (i = 0; i < mix_nproc; i++)
		if (mix_pids[i] > 0)
			kill(mix_pids[i], sig);
}

static int cmd_mix(int nproc)
{
	int fd = open_file(0), i, status, failed = 0;
	struct mixres { long counts[MIX_NR_OPS], sigbus, eio; } *res;
	long total = 0, sigbus = 0, eio = 0;
	pid_t *pids = mix_pids;
	struct sigaction sa = { .sa_handler = mix_sigterm };

	if (nproc < 1 || nproc > 64) {
		fprintf(stderr, "mxio mix: NPROC must be 1..64\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	prepare(fd, MIX_BASE);
	res = mmap(NULL, nproc * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap shared results");
	memset(res, 0, nproc * sizeof(*res));
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (pids[i] == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			_exit(mix_one(i, res[i].counts, &res[i].sigbus,
				      &res[i].eio));
		}
		mix_nproc = i + 1;
	}
	for (i = 0; i < nproc; i++) {
		while (waitpid(pids[i], &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	for (i = 0; i < nproc; i++) {
		int op;

		for (op = 0; op < MIX_NR_OPS; op++)
			total += res[i].counts[op];
		sigbus += res[i].sigbus;
		eio += res[i].eio;
	}
	printf("mxio %s: %d processes, %ld ops (", cmd, nproc, total);
	for (i = 0; i < MIX_NR_OPS; i++) {
		long n = 0;
		int p;

		for (p = 0; p < nproc; p++)
			n += res[p].counts[i];
		printf("%s%s %ld", i ? ", " : "", mix_names[i], n);
	}
	printf("), %ld SIGBUS past EOF, %ld EIO/EUCLEAN\n", sigbus, eio);
	return failed;
}

int main(int argc, char **argv)
{
	double secs;

	if (argc < 4) {
		fprintf(stderr, "usage: mxio nest-read|nest-dio-read|nest-dio-write|write-punch|cross-dio|mmap-loop|fiemap|starve|kill|gap-zero|redirty|remote-write|aio-mmap|aio-own|many-files|sendfile|mix FILE SECONDS [NPROC]\n       mxio move-ext|exchange-range FILE OTHER\n");
		return 2;
	}
	cmd = argv[1];
	path = argv[2];
	secs = atof(argv[3]);
	deadline = now() + secs;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "nest-read"))
		return cmd_nest(NEST_READ);
	if (!strcmp(cmd, "nest-dio-read"))
		return cmd_nest(NEST_DIO_READ);
	if (!strcmp(cmd, "nest-dio-write"))
		return cmd_nest(NEST_DIO_WRITE);
	if (!strcmp(cmd, "write-punch"))
		return cmd_write_punch();
	if (!strcmp(cmd, "cross-dio"))
		return cmd_cross_dio();
	if (!strcmp(cmd, "mmap-loop"))
		return cmd_mmap_loop();
	if (!strcmp(cmd, "fiemap"))
		return cmd_fiemap();
	if (!strcmp(cmd, "starve"))
		return cmd_starve(argc > 4 ? atoi(argv[4]) : 2);
	if (!strcmp(cmd, "kill"))
		return cmd_kill();
	if (!strcmp(cmd, "move-ext"))
		return cmd_move_ext(argv[3]);
	if (!strcmp(cmd, "exchange-range"))
		return cmd_exchange_range(argv[3]);
	if (!strcmp(cmd, "gap-zero"))
		return cmd_gap_zero();
	if (!strcmp(cmd, "redirty"))
		return cmd_redirty();
	if (!strcmp(cmd, "aio-mmap"))
		return cmd_aio_mmap();
	if (!strcmp(cmd, "aio-own"))
		return cmd_aio_own();
	if (!strcmp(cmd, "many-files"))
		return cmd_many_files();
	if (!strcmp(cmd, "sendfile"))
		return cmd_sendfile();
	if (!strcmp(cmd, "remote-write"))
		return cmd_remote_write();
	if (!strcmp(cmd, "mix"))
		return cmd_mix(argc > 4 ? atoi(argv[4]) : 2);
	fprintf(stderr, "mxio: unknown command '%s'\n", cmd);
	return 2;
}
