// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case4.c - Chinner's case 4: mmap fault vs buffered IO.
 *
 * Technique.  The file holds --pages pages and is mapped shared read-write.
 * The main thread loops: buffered pwrite of generation g over the range,
 * then reads it back by pread and through the mapping and checks.
 * --threads fault threads walk the mapping without pause, reading each page
 * and storing into its first 8 bytes (read faults, write faults and
 * ->page_mkwrite against the buffered write's folio locking), and one
 * writeback thread loops sync_file_range (start, then wait) and
 * fadvise(DONTNEED), so pages are cleaned and evicted under both and have
 * to be read in again by either side.  A fault that installs a page the
 * buffered write is not writing into (or a write that copies into a page
 * being replaced) loses generation g.
 *
 * Oracle.  Bytes [8, page) are written only by the main thread's pwrite;
 * the fault threads write bytes [0, 8) only and the writeback thread
 * changes no data.  The main thread reads only after its pwrite returned,
 * so both reads must see generation g past the scribble word.  Anything
 * else is a lost buffered write: a violation.
 */
#include "common.h"

static struct race_opts o = {
	.file = "/mnt/scratch/race-case4",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 1,
};

/* The "operation" is the buffered write itself: nothing to zero. */
static void no_op(struct inval_race *r, long *viol)
{
	(void)r;
	(void)viol;
}

int main(int argc, char **argv)
{
	static struct inval_race r = { .op = no_op };

	race_parse(argc, argv, &o, OPT_THREADS | OPT_PAGES | OPT_FSYNC,
		   " [--threads N] [--pages N] [--fsync-every N]");
	inval_race_setup(&r, &o);
	r.cut = o.pages;	/* every page must hold generation g */
	start_threads(o.threads, fault_thread, &r);
	start_threads(1, writeback_thread, &r);
	return inval_race_run(&r, &o, 4);
}
