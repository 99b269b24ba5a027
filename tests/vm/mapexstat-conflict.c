// SPDX-License-Identifier: GPL-2.0
/*
 * tests/vm/mapexstat-conflict.c - workload for tests/vm/mapexstat.t: forces
 * a known number of DIRECT_WRITE-behind-BUFFERED range lock waits on one file.
 *
 * Each round, a reader thread does a buffered pread of the whole file into
 * a buffer whose first page is a userfaultfd trap: the copy to user space
 * stops there with the BUFFERED range held. Only then does a writer thread
 * start a direct pwrite of the first block; the main thread waits until
 * that thread sleeps on the mapex lock inside pwrite64 (it must: its range
 * is held in a conflicting mode), and only then resolves the fault. No step depends on
 * timing; a writer that finishes without sleeping fails the round.
 *
 * Usage: mapexstat-conflict FILE ROUNDS
 * Prints "rounds N blocked K" and exits 0 when K == N, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE	(4 << 20)
#define BLOCK		4096
#define WAIT_SECONDS	60

static int buffered_fd, direct_fd;
static char *rbuf, *wbuf;
static long page;
static volatile pid_t writer_tid;
static volatile int writer_done;

static void fail(const char *what)
{
	fprintf(stderr, "mapexstat-conflict: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void *reader(void *arg)
{
	ssize_t n = pread(buffered_fd, rbuf, FILE_SIZE, 0);

	(void)arg;
	if (n != FILE_SIZE)
		fprintf(stderr, "mapexstat-conflict: buffered read returned %zd\n", n);
	return NULL;
}

static void *writer(void *arg)
{
	ssize_t n;

	(void)arg;
	writer_tid = syscall(SYS_gettid);
	n = pwrite(direct_fd, wbuf, BLOCK, 0);
	if (n != BLOCK)
		fprintf(stderr, "mapexstat-conflict: direct write returned %zd (%s)\n",
			n, n < 0 ? strerror(errno) : "short");
	writer_done = 1;
	return NULL;
}

static int read_proc(pid_t tid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, what);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * Is thread tid asleep inside pwrite64 ("/proc/.../syscall" starts with its
 * number), on a mapex wait: the first frame of its kernel stack that is not
 * the scheduler belongs to [mapex]? Without /proc/.../stack the syscall
 * check alone decides.
 */
static int sleeping_on_mapex(pid_t tid)
{
	char buf[8192], *line, *save;
	int nr = -1;

	if (read_proc(tid, "syscall", buf, sizeof(buf)) ||
	    sscanf(buf, "%d", &nr) != 1 || nr != SYS_pwrite64)
		return 0;
	if (read_proc(tid, "stack", buf, sizeof(buf)))
		return 1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "schedule"))
			continue;
		return strstr(line, "[mapex]") != NULL;
	}
	return 0;
}

static int one_round(int uffd)
{
	pthread_t rt, wt;
	struct uffd_msg msg;
	struct uffdio_copy copy;
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	time_t deadline;
	int blocked = 0;

	writer_tid = 0;
	writer_done = 0;
	if (madvise(rbuf, page, MADV_DONTNEED))	/* re-arm the trap */
		fail("madvise");
	if (pthread_create(&rt, NULL, reader, NULL))
		fail("pthread_create");
	/* The reader is stopped in copy_to_user with its range held. */
	if (poll(&pfd, 1, WAIT_SECONDS * 1000) != 1)
		fail("no userfault from the buffered read");
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		fail("reading the userfault");

	if (pthread_create(&wt, NULL, writer, NULL))
		fail("pthread_create");
	deadline = time(NULL) + WAIT_SECONDS;
	while (!writer_done && time(NULL) < deadline) {
		if (writer_tid && sleeping_on_mapex(writer_tid)) {
			blocked = 1;
			break;
		}
		usleep(1000);
	}
	/* Let the reader finish; the writer then gets its range. */
	copy.dst = (unsigned long)rbuf;
	copy.src = (unsigned long)wbuf;
	copy.len = page;
	copy.mode = 0;
	copy.copy = 0;
	if (ioctl(uffd, UFFDIO_COPY, &copy))
		fail("UFFDIO_COPY");
	pthread_join(rt, NULL);
	pthread_join(wt, NULL);
	return blocked;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	int rounds, blocked = 0, i, uffd;
	char *fill;

	if (argc != 3 || (rounds = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: mapexstat-conflict FILE ROUNDS\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	buffered_fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (buffered_fd < 0)
		fail(argv[1]);
	fill = malloc(FILE_SIZE);
	if (!fill)
		fail("malloc");
	memset(fill, 'a', FILE_SIZE);
	if (pwrite(buffered_fd, fill, FILE_SIZE, 0) != FILE_SIZE ||
	    fsync(buffered_fd))
		fail("writing the file");
	free(fill);
	direct_fd = open(argv[1], O_RDWR | O_DIRECT);
	if (direct_fd < 0)
		fail("open O_DIRECT");
	if (posix_memalign((void **)&wbuf, BLOCK, BLOCK))
		fail("posix_memalign");
	memset(wbuf, 'b', BLOCK);

	rbuf = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rbuf == MAP_FAILED)
		fail("mmap");
	memset(rbuf + page, 0, FILE_SIZE - page);	/* only page 0 traps */
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		fail("userfaultfd");
	if (ioctl(uffd, UFFDIO_API, &api))
		fail("UFFDIO_API");
	reg.range.start = (unsigned long)rbuf;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER");

	for (i = 0; i < rounds; i++)
		blocked += one_round(uffd);
	printf("rounds %d blocked %d\n", rounds, blocked);
	return blocked == rounds ? 0 : 1;
}
