// SPDX-License-Identifier: GPL-2.0
/*
 * module/readahead.c - the ->readahead wrapper (btrfs): speculative reads
 * stay out of ranges that another operation is rewriting or dropping.
 *
 * Readahead reads beyond the range of the operation that started it: a
 * fault's read-around (btrfs's 4 MiB window covers whole small files), a
 * buffered read's sync and async windows, readahead(2), fadvise and
 * madvise(WILLNEED).  None of them holds a range over what it reads.  On
 * ext4 and xfs that is harmless: the folios it adds are clean, and a
 * direct write's post-write invalidation drops them.  On btrfs it is not:
 * a read keeps its extent range locked until its bio has completed, after
 * the folios are unlocked, and btrfs's ->release_folio refuses a folio
 * whose extent range is locked.  A readahead inside a direct write's range
 * therefore makes the write's invalidations fail (the
 * iomap_dio_invalidate_fail tracepoint, dio_warn_stale_pagecache() and an
 * fsync EIO: docs/results.md, "btrfs").
 *
 * The kernel calls ->readahead with the window's folios already in the
 * page cache and locked; read_pages() unlocks whatever ->readahead did not
 * take, and leaves those folios not uptodate.  So when a range in
 * DIRECT_WRITE or INVAL mode of any task (the caller's own included)
 * overlaps the window, the wrapper reads nothing: the fault or read that
 * needs one of the folios reads it alone with ->read_folio, inside its own
 * range, and an invalidation drops a folio that is not uptodate and has
 * no locked extent.  Nothing waits, so this is safe inside a fault and
 * under any range the task holds.
 *
 * Ordering: the folios are inserted before the look at the ranges, and a
 * direct write or invalidation is granted before its invalidation looks at
 * the folios.  A full barrier between insertion and look here, and the
 * fully ordered xchg/cmpxchg of the range lock on the grant side
 * (module/rangelock.c, mapex_range_held_by_other()), make one of the two
 * see the other: either the readahead sees the grant and reads nothing,
 * or the invalidation finds the folios (locked while their read is in
 * flight; it waits for them).
 */
#include <linux/fs.h>
#include <linux/pagemap.h>

#include "interpose.h"

typedef void (*mapex_readahead_t)(struct readahead_control *);

void mapex_readahead(struct mapex_profile *p, struct mapex_hook *hook,
		     struct readahead_control *rac)
{
	mapex_readahead_t orig = MAPEX_ORIG(hook, mapex_readahead_t);
	struct inode *inode = rac->mapping->host;
	u64 start = readahead_pos(rac);
	u64 end = start + readahead_length(rac);
	int mode;

	mapex_wrapper_enter();
	if (READ_ONCE(p->enabled)) {
		mapex_span(inode, &start, &end);
		smp_mb();	/* folios inserted, then the look: see above */
		mode = mapex_held_by_any(inode, start, end,
					 BIT(MAPEX_MODE_DIRECT_WRITE) |
					 BIT(MAPEX_MODE_INVAL));
		if (mode >= 0) {
			mapex_count(p, MAPEX_CNT_RA_SKIPPED, mode);
			goto out;
		}
	}
	orig(rac);
out:
	mapex_wrapper_leave();
}
