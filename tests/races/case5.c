// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case5.c - Chinner's case 5: writeback vs truncate.
 *
 * Technique.  The file holds --pages pages.  The main thread loops: buffered
 * pwrite of generation g over the range (dirtying every page); ftruncate
 * down to half the range; probe the pages past EOF through a shared mapping
 * (each must raise SIGBUS); ftruncate back up; check; then fdatasync, drop
 * the clean cache with fadvise(DONTNEED) and check again from disk.
 * --threads writeback threads loop sync_file_range (start, then wait) and
 * fadvise(DONTNEED) through their own descriptors, so writeback of the
 * pages being truncated is in flight during the truncate.  Writeback
 * writing a truncated page's data into blocks after they were freed, or
 * into the extension, shows up as non-zero data past the cut.
 *
 * Oracle.  Only the main thread writes the file, and its pwrite returns
 * before the truncate starts.  Between the two ftruncate calls every page
 * past EOF must raise SIGBUS; after the extension pages [cut, pages) are a
 * hole and must read as zeros, pages [0, cut) as generation g, from the
 * cache (pread, mapping) and, after fdatasync + DONTNEED, from disk.
 * Writeback threads only move data between cache and disk.
 */
#include "common.h"

static struct race_opts o = {
	.file = "/mnt/scratch/race-case5",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 0,
};

int main(int argc, char **argv)
{
	static struct inval_race r = { .op = op_truncate, .drop = 1 };

	race_parse(argc, argv, &o, OPT_THREADS | OPT_PAGES,
		   " [--threads N] [--pages N]");
	inval_race_setup(&r, &o);
	start_threads(o.threads, writeback_thread, &r);
	return inval_race_run(&r, &o, 5);
}
