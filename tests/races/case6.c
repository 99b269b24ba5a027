// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case6.c - Chinner's case 6: writeback vs hole punch.
 *
 * Technique.  The file holds --pages pages.  The main thread loops: buffered
 * pwrite of generation g over the whole range (dirtying every page), then
 * fallocate(PUNCH_HOLE|KEEP_SIZE) over the upper half, then checks; after
 * each check it fdatasyncs, drops the clean cache with
 * fadvise(DONTNEED) and checks again from disk.  --threads writeback
 * threads loop sync_file_range (start, then wait) and fadvise(DONTNEED) on
 * the file through their own descriptors, so writeback of the dirty pages
 * is in flight while the punch runs.  Writeback that writes a page's old
 * data into blocks after the punch freed them, or a page surviving the
 * punch because it was under writeback, shows up as non-zero data.
 *
 * Oracle.  Only the main thread writes the file, and its pwrite returns
 * before the punch starts.  When fallocate returns, the punched range must
 * read as zeros and the lower half as generation g, from the cache (pread,
 * mapping) and, after fdatasync + DONTNEED, from disk.  Writeback threads
 * only move data between cache and disk, never change it.
 */
#include "common.h"

static struct race_opts o = {
	.file = "/mnt/scratch/race-case6",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 0,
};

int main(int argc, char **argv)
{
	static struct inval_race r = { .op = op_punch, .drop = 1 };

	race_parse(argc, argv, &o, OPT_THREADS | OPT_PAGES,
		   " [--threads N] [--pages N]");
	inval_race_setup(&r, &o);
	start_threads(o.threads, writeback_thread, &r);
	return inval_race_run(&r, &o, 6);
}
