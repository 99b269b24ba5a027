// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case1.c - Chinner's case 1: mmap fault vs hole punch.
 *
 * Technique.  The file holds --pages pages (allocated, on disk) and is
 * mapped shared read-write.  The main thread loops: buffered pwrite of
 * generation g over the whole range, then fallocate(PUNCH_HOLE|KEEP_SIZE)
 * over the upper half, then checks.  --threads fault threads walk the
 * mapping without pause, reading each page past its scribble word (read
 * fault, fault-around) and storing into its first 8 bytes (write fault,
 * ->page_mkwrite, block allocation in the hole being punched).  A fault
 * that instantiates a page from the old blocks after the punch dropped the
 * page cache but before the extents are gone would leave old data cached
 * (or re-allocate the block under the punch).  fdatasync every
 * --fsync-every iterations counts EIO.
 *
 * Oracle.  Bytes [8, page) are written only by the main thread's pwrite,
 * which returns before the punch starts; the fault threads write bytes
 * [0, 8) only.  When fallocate returns, the punched range must read as
 * zeros past the scribble word and the lower half as generation g, by
 * pread and through the mapping (each reader is counted: one stale page
 * may count twice).  Any other value is stale data surviving the punch.
 */
#include "common.h"

static struct race_opts o = {
	.file = "/mnt/scratch/race-case1",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 1,
};

int main(int argc, char **argv)
{
	static struct inval_race r = { .op = op_punch };

	race_parse(argc, argv, &o, OPT_THREADS | OPT_PAGES | OPT_FSYNC,
		   " [--threads N] [--pages N] [--fsync-every N]");
	inval_race_setup(&r, &o);
	start_threads(o.threads, fault_thread, &r);
	return inval_race_run(&r, &o, 1);
}
