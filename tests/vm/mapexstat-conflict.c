// SPDX-License-Identifier: GPL-2.0
/*
 * tests/vm/mapexstat-conflict.c - workload for tests/vm/mapexstat.t: forces
 * a known number of DIRECT_WRITE-behind-BUFFERED range lock waits on one file,
 * between two named processes.
 *
 * Each round, the reader thread "mx-reader" (of this process) does a
 * buffered pread of the whole file into a buffer whose first page is a
 * userfaultfd trap: the copy to user space stops there with the BUFFERED
 * range held. Only then does the writer process "mx-writer" (a child) start
 * a direct pwrite of the first block; the main thread waits until the
 * writer sleeps on the mapex lock inside pwrite64 (it must: its range is
 * held in a conflicting mode), and only then resolves the fault. No step
 * depends on timing; a writer that finishes without sleeping fails the
 * round. The same reader thread and writer process serve every round.
 *
 * Usage: mapexstat-conflict FILE ROUNDS [HOLD]
 * Prints "rounds N blocked K writer W reader_pid P reader_tid T", then
 * (with HOLD) keeps both processes alive HOLD seconds, so that the holder's
 * comm can still be read; exits 0 when K == N, 1 otherwise.
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
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE	(4 << 20)
#define BLOCK		4096
#define WAIT_SECONDS	60

static int buffered_fd, direct_fd;
static char *rbuf, *wbuf;
static long page;
static pid_t writer_pid, reader_tid;
/* Commands to, and completions from, the reader thread and writer process. */
static int reader_go[2], reader_done[2], writer_go[2], writer_done[2];

static void fail(const char *what)
{
	fprintf(stderr, "mapexstat-conflict: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* One byte from fd; 0 at EOF. */
static int get_byte(int fd)
{
	char c;

	return read(fd, &c, 1) == 1;
}

static void put_byte(int fd)
{
	if (write(fd, "x", 1) != 1)
		fail("write to a pipe");
}

static void *reader(void *arg)
{
	ssize_t n;

	(void)arg;
	prctl(PR_SET_NAME, "mx-reader");
	reader_tid = syscall(SYS_gettid);
	while (get_byte(reader_go[0])) {
		n = pread(buffered_fd, rbuf, FILE_SIZE, 0);
		if (n != FILE_SIZE)
			fprintf(stderr, "mapexstat-conflict: buffered read returned %zd\n", n);
		put_byte(reader_done[1]);
	}
	return NULL;
}

/*
 * The writer process: one direct pwrite per byte on writer_go.  Not
 * inlined: built with frame pointers (mapexstat.t), its own frame lets a
 * frame-pointer walk that starts in libc's frameless pwrite reach main.
 */
static __attribute__((noinline)) void writer(void)
{
	ssize_t n;

	prctl(PR_SET_NAME, "mx-writer");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(writer_go[1]);	/* EOF on writer_go once the parent closes it */
	while (get_byte(writer_go[0])) {
		n = pwrite(direct_fd, wbuf, BLOCK, 0);
		if (n != BLOCK)
			fprintf(stderr, "mapexstat-conflict: direct write returned %zd (%s)\n",
				n, n < 0 ? strerror(errno) : "short");
		put_byte(writer_done[1]);
	}
	_exit(0);
}

static int read_proc(pid_t tid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", tid, tid, what);
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
	struct uffd_msg msg;
	struct uffdio_copy copy;
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct pollfd wdone = { .fd = writer_done[0], .events = POLLIN };
	time_t deadline;
	int blocked = 0;

	if (madvise(rbuf, page, MADV_DONTNEED))	/* re-arm the trap */
		fail("madvise");
	put_byte(reader_go[1]);
	/* The reader is stopped in copy_to_user with its range held. */
	if (poll(&pfd, 1, WAIT_SECONDS * 1000) != 1)
		fail("no userfault from the buffered read");
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		fail("reading the userfault");

	put_byte(writer_go[1]);
	deadline = time(NULL) + WAIT_SECONDS;
	while (poll(&wdone, 1, 0) == 0 && time(NULL) < deadline) {
		if (sleeping_on_mapex(writer_pid)) {
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
	if (!get_byte(reader_done[0]) || !get_byte(writer_done[0]))
		fail("the reader or the writer is gone");
	return blocked;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	int rounds, blocked = 0, i, uffd, hold = 0;
	pthread_t rt;
	char *fill;

	if ((argc != 3 && argc != 4) || (rounds = atoi(argv[2])) <= 0 ||
	    (argc == 4 && (hold = atoi(argv[3])) <= 0)) {
		fprintf(stderr, "usage: mapexstat-conflict FILE ROUNDS [HOLD]\n");
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

	if (pipe(reader_go) || pipe(reader_done) || pipe(writer_go) ||
	    pipe(writer_done))
		fail("pipe");
	writer_pid = fork();
	if (writer_pid < 0)
		fail("fork");
	if (!writer_pid)
		writer();
	if (pthread_create(&rt, NULL, reader, NULL))
		fail("pthread_create");
	while (!reader_tid)
		usleep(1000);

	for (i = 0; i < rounds; i++)
		blocked += one_round(uffd);
	printf("rounds %d blocked %d writer %d reader_pid %d reader_tid %d\n",
	       rounds, blocked, writer_pid, getpid(), reader_tid);
	fflush(stdout);
	if (hold)
		sleep(hold);
	close(writer_go[1]);
	close(reader_go[1]);
	waitpid(writer_pid, NULL, 0);
	pthread_join(rt, NULL);
	return blocked == rounds ? 0 : 1;
}
