/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/races/common.h - shared helpers of the race reproducers case1..case9:
 * option parsing, the time/iteration budget, page patterns and their
 * oracle check, the kernel-alarm counters (the iomap_dio_invalidate_fail
 * tracepoint and a kprobe on dio_warn_stale_pagecache), SIGBUS probing and
 * the one-line report.
 *
 * Report line (stdout, one per run), parsed by tests/races/run-cell,
 * tests/vm/races.t and scripts/races:
 *   case=N variant=V iterations=I violations=X eio=E tp=T warn=W [NAME=C ...] seconds=S
 * violations: data compares (or missing SIGBUS) that contradict the oracle;
 * eio: fsync/fdatasync calls that returned EIO; tp: hits on the
 * iomap_dio_invalidate_fail tracepoint during the run (a failed pre-write
 * invalidation); warn: calls of dio_warn_stale_pagecache() during the run
 * (a failed post-write invalidation: the kernel's own alarm that it left a
 * stale page cache, counted through a kprobe event, not the rate-limited
 * dmesg line).  tp and warn read "na" if tracefs, the event or kprobe
 * events are unavailable.  Optional NAME=C fields (report_extra()) are
 * program-specific counters, e.g. efault= of case 9.  Exit status: 0
 * nothing seen, 1 violations, EIO or warn seen, 2 setup error.
 */
#ifndef RACES_COMMON_H
#define RACES_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <stdatomic.h>
#include <sys/types.h>

/* Which optional knobs a program accepts (bit mask for race_parse). */
#define OPT_THREADS	(1u << 0)	/* --threads N: racing threads */
#define OPT_PAGES	(1u << 1)	/* --pages N: size of the raced range */
#define OPT_FSYNC	(1u << 2)	/* --fsync-every N: fdatasync period */
#define OPT_VARIANT	(1u << 3)	/* --variant NAME */
#define OPT_WINDOW	(1u << 4)	/* --window / --always: race only while
				 * the operation is in flight, or all the time */
#define OPT_READERS	(1u << 5)	/* --readers N: buffered reader threads */
#define OPT_GROUPS	(1u << 6)	/* --group G --groups N: N groups of G
				 * pages (case 8) */

struct race_opts {
	const char *file;
	double seconds;		/* wall-clock budget, 0 = none */
	long iterations;	/* iteration budget, 0 = none */
	int threads;
	int readers;
	int pages;
	int fsync_every;	/* 0 = only once at the end */
	int window;
	int verbose;
	int stop_on_hit;	/* stop at the first violation or EIO */
	const char *variant;
	int group;		/* pages per group, 0 = the program's default */
	int groups;		/* number of groups */
};

extern size_t page_size;

/* Parse argv; 'accept' is the OPT_* mask; defaults must be preset in o. */
void race_parse(int argc, char **argv, struct race_opts *o, unsigned accept,
		const char *usage_extra);

/* Budget: call budget_start() once, then budget_left(iters_done). */
void budget_start(const struct race_opts *o);
int budget_left(long done);
double budget_elapsed(void);

/* Fatal setup error: print and exit(2). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Open (creating) the test file; extra open flags in 'flags'. */
int open_file(const char *path, int flags);
/* Page-aligned heap buffer (for O_DIRECT), zeroed. */
void *alloc_aligned(size_t len);
/* Whole-range I/O that treats short transfers and errors as setup errors. */
void pwrite_all(int fd, const void *buf, size_t len, off_t off);
void pread_all(int fd, void *buf, size_t len, off_t off);

/*
 * Page patterns.  Every 64-bit word of page 'page' in generation 'gen' is
 * pattern_word(gen, page, word): a reader can tell which generation a stale
 * word came from.  The first SCRIBBLE bytes of a page are reserved for the
 * racing threads (mmap stores, small buffered writes): checks skip them.
 */
#define SCRIBBLE 8
uint64_t pattern_word(uint64_t gen, uint64_t page, size_t word);
void fill_pages(void *buf, uint64_t gen, long first_page, int npages);
/*
 * Count pages of buf (npages, starting at file page first_page) whose bytes
 * past SCRIBBLE differ from generation gen; gen 0 means "all zero".  On the
 * first mismatches (or with -v) prints what was found instead.
 */
long check_pages(const void *buf, uint64_t gen, long first_page, int npages,
		 const char *what);
/*
 * The same, checking bytes [skip, page) of every page instead of
 * [SCRIBBLE, page); skip is a multiple of 8 below the page size (0 checks
 * whole pages).
 */
long check_pages_from(const void *buf, uint64_t gen, long first_page,
		      int npages, size_t skip, const char *what);

/* fdatasync that counts EIO in *eio and treats other errors as fatal. */
void datasync_count(int fd, long *eio);

/*
 * Kernel-alarm counters.  tp_start() installs a hist trigger on the
 * iomap_dio_invalidate_fail tracepoint, and creates the kprobe event
 * mapex_races/dio_warn on dio_warn_stale_pagecache() (in kprobe_events,
 * reusing a definition a crashed earlier run left behind) with a hist
 * trigger of its own; both are read as total hit counts.  tp_start()
 * returns 0 when the tracepoint counter is available.  tp_stop() removes
 * what the run installed, and the kprobe event and its trigger even when a
 * killed run left them (a tracepoint trigger that was already there is
 * shared and left in place).  It also runs at exit and on SIGINT, SIGTERM
 * and SIGHUP (unless ignored), so only SIGKILL leaves anything behind.
 */
int tp_start(void);
/* Hits since tp_start(), -1 if unavailable. */
long tp_hits(void);	/* iomap_dio_invalidate_fail */
long warn_hits(void);	/* dio_warn_stale_pagecache() */
void tp_stop(void);

/*
 * SIGBUS probing: returns 1 if reading the byte at p raised SIGBUS, 0 if
 * the read succeeded (value in *val if val != NULL).  Thread-safe.
 */
int probe_sigbus(const volatile char *p, char *val);
/* Same for a store of v. */
int probe_sigbus_store(volatile char *p, char v);
void sigbus_install(void);

/*
 * Print the report line and return the exit status (0, or 1 if violations,
 * eio or warn is non-zero).  tp and warn < 0 print as "na".
 */
int report(int casenr, const char *variant, long iters, long violations,
	   long eio, long tp, long warn);
/*
 * Add a program-specific counter to the report line, printed as name=value
 * after warn= (read when report() runs; at most 4).  It is informational:
 * it does not change the exit status.
 */
void report_extra(const char *name, const atomic_long *value);

/*
 * Window gate for racing threads: true once the raced operation is in flight
 * (*inflight set by the main thread) and none of the npages pages of the
 * mapping at map is resident, i.e. its pre-operation invalidation is done.
 * vec is scratch space of npages bytes.
 */
int window_open(atomic_int *inflight, void *map, int npages, unsigned char *vec);

/*
 * The direct-write loop shared by cases 3, 7 and 9.  dio_race_setup() creates
 * o->file with o->pages pages of generation 1 on disk, opens it buffered
 * (fd_buf) and O_DIRECT (fd_dio) and allocates the buffers.  The caller then
 * starts its racing threads; dio_race_run() loops until the budget is
 * spent: fill wbuf with generation g, set inflight, write(fd_dio, wbuf),
 * clear inflight, buffered pread of the range, check_pages_from against g
 * (from check_from), fdatasync every o->fsync_every iterations counting
 * EIO; then stops the threads, reports, removes the file and returns the
 * exit status.
 */
struct dio_race {
	int fd_buf, fd_dio;
	size_t len;
	char *wbuf, *rbuf;
	atomic_int inflight;
	void (*write)(int fd, void *buf, size_t len);	/* must write it all */
	size_t check_from;	/* bytes of each page the check skips (the
				 * racing threads' scribble area); 0: SCRIBBLE */
};
void dio_race_setup(struct dio_race *r, const struct race_opts *o);
int dio_race_run(struct dio_race *r, const struct race_opts *o, int casenr,
		 const char *variant);

/*
 * The loop shared by cases 1, 2, 5 and 6 (an operation that zeroes the
 * upper half of the range).  inval_race_setup() creates o->file with
 * o->pages pages, opens it buffered (fd) and maps it shared read-write
 * (map).  The caller starts its racing threads (fault_thread,
 * writeback_thread); inval_race_run() loops: buffered pwrite of generation g
 * over the range, op() (which must leave pages [cut, pages) reading as zero
 * and may add to *viol itself), then checks by buffered pread and by
 * reading the mapping that pages [0, cut) hold g and [cut, pages) zeros
 * (past the scribble word), fdatasync counting EIO, and with drop set
 * fadvise(DONTNEED) and the pread check again (what is on disk).
 */
struct inval_race {
	const char *file;
	int fd;
	int cut;
	int drop;
	size_t len;
	char *map, *wbuf, *rbuf;
	void (*op)(struct inval_race *r, long *viol);
};
void inval_race_setup(struct inval_race *r, const struct race_opts *o);
int inval_race_run(struct inval_race *r, const struct race_opts *o, int casenr);

/*
 * The two zeroing operations.  op_punch: fallocate(PUNCH_HOLE|KEEP_SIZE) of
 * pages [cut, pages).  op_truncate: ftruncate down to cut pages, then read
 * one byte of every page past the new EOF through the mapping, each of
 * which must raise SIGBUS (one violation per page that does not), then
 * ftruncate back up to the full size (the extension reads as zeros).
 */
void op_punch(struct inval_race *r, long *viol);
void op_truncate(struct inval_race *r, long *viol);

/*
 * Racing threads, arg is the inval_race: fault_thread walks the mapping, reading
 * and storing the scribble word of every page (SIGBUS beyond EOF is
 * expected and ignored); writeback_thread loops sync_file_range(WRITE),
 * fdatasync and fadvise(DONTNEED) on the whole file through a descriptor of
 * its own (errors ignored: errseq reports a writeback error once to every
 * open file, so the main thread still sees it on its own).
 */
extern int race_pages;	/* pages in the mapping, for the threads */
void *fault_thread(void *arg);
void *writeback_thread(void *arg);

/* Small helpers for the racing threads. */
extern atomic_int stop_flag;
void start_threads(int n, void *(*fn)(void *), void *arg);
void join_threads(void);

#endif /* RACES_COMMON_H */
