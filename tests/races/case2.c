// SPDX-License-Identifier: GPL-2.0
/*
 * tests/races/case2.c - Chinner's case 2: mmap fault vs truncate.
 *
 * Technique.  The file holds --pages pages and is mapped shared read-write
 * over its full size.  The main thread loops: buffered pwrite of generation
 * g over the range; ftruncate down to half the range; read one byte of every
 * page past the new EOF through the mapping (each must raise SIGBUS);
 * ftruncate back up to the full size; check.  --threads fault threads walk
 * the whole mapping without pause, reading each page and storing into its
 * first 8 bytes, catching the SIGBUS they get beyond EOF.  A fault that
 * maps a page past EOF after truncate unmapped the range, or instantiates a
 * page from blocks being freed, leaves a mapped page past EOF (no SIGBUS)
 * or old data that reappears when the file is extended again.
 *
 * Oracle.  Bytes [8, page) are written only by the main thread's pwrite,
 * which returns before the truncate starts; the fault threads write bytes
 * [0, 8) only.  Between the two ftruncate calls the size is cut pages, so
 * every access to a page wholly past it must raise SIGBUS.  After the
 * extension, pages [cut, pages) are a hole: they must read as zeros past
 * the scribble word, and pages [0, cut) as generation g, by pread and
 * through the mapping.  Anything else is a violation.
 */
#include "common.h"

static struct race_opts o = {
	.file = "/mnt/scratch/race-case2",
	.seconds = 10,
	.threads = 2,
	.pages = 16,
	.fsync_every = 1,
};

int main(int argc, char **argv)
{
	static struct inval_race r = { .op = op_truncate };

	race_parse(argc, argv, &o, OPT_THREADS | OPT_PAGES | OPT_FSYNC,
		   " [--threads N] [--pages N] [--fsync-every N]");
	inval_race_setup(&r, &o);
	start_threads(o.threads, fault_thread, &r);
	return inval_race_run(&r, &o, 2);
}
