// SPDX-License-Identifier: GPL-2.0
/*
 * module/settle.c - a direct write's cache invalidation that fails on
 * folios still under someone's IO waits for that IO, inside the write's
 * grant, instead of failing (docs/locking.md, rule 16).
 *
 * A direct write invalidates the cached folios of its range before it
 * writes (iomap: if that fails, the iomap_dio_invalidate_fail tracepoint,
 * and the filesystem falls back to a buffered write) and after it wrote
 * (if that fails, dio_warn_stale_pagecache()).  mapex's DIRECT_WRITE range
 * keeps every page-cache user out of the range meanwhile, so what is still
 * there is clean and idle.  Except on btrfs: its ->release_folio refuses a
 * folio whose extent range is locked, and IO that began before the grant
 * keeps it locked after the folios are unlocked: a read bio until all of
 * it has completed, the previous direct write until its ordered extent is
 * finished in a worker, after that write returned (docs/results.md,
 * "btrfs").  Such a refusal is transient, so when
 * invalidate_inode_pages2_range() fails with -EBUSY inside a DIRECT_WRITE
 * or INVAL range of the calling task over the whole of what it
 * invalidates, the wrapper waits a tick and tries again, killably, for
 * MAPEX_SETTLE_MS at most, past which it returns -EBUSY as the kernel
 * would have.  A folio found dirty or under writeback is written back
 * first, as the caller did before its first try: btrfs 6.1 answers the
 * writeback of a page dirtied without ->page_mkwrite (the late dirtying of
 * a direct read into a mapping of the file, module/redirty.c) by
 * re-dirtying it and fixing it up in a worker, so one pass may leave it
 * dirty.  Any other caller gets the original's result untouched.
 *
 * Waiting here is waiting where the caller already waits for folio locks
 * (it holds i_rwsem, shared on btrfs, and its range; no folio lock, no
 * extent lock: btrfs calls this before its iomap_begin), for IO that takes
 * no range: read completion, btrfs's ordered-extent worker and writeback
 * run no hooked code (rule 9), and nothing new can lock those extents
 * while the range is held (readahead steps aside: module/readahead.c,
 * rule 14).  Filesystems whose invalidation does not fail (ext4 and xfs in
 * every test) never get here; on 6.12, where btrfs writes a checksummed
 * file's direct writes through the cache without invalidating, neither.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>

#include "interpose.h"

/* The longest a direct write waits for its range's folios to settle. */
#define MAPEX_SETTLE_MS		1000

typedef int (*mapex_invalidate_pages2_t)(struct address_space *, pgoff_t,
					 pgoff_t);

static int mapex_settle(mapex_invalidate_pages2_t orig,
			struct address_space *mapping, pgoff_t first,
			pgoff_t last)
{
	struct inode *inode = mapping->host;
	struct mapex_profile *p = mapex_profile_of(inode);
	u64 start = (u64)first << PAGE_SHIFT;
	u64 end = last >= (U64_MAX >> PAGE_SHIFT) ? U64_MAX :
		  ((u64)last + 1) << PAGE_SHIFT;
	loff_t lend = min_t(u64, end - 1, LLONG_MAX);	/* last byte */
	unsigned long deadline;
	int mode, ret = -EBUSY;

	if (!p || !READ_ONCE(p->enabled) || !in_task())
		return ret;
	/* a write that invalidates holds its range in one of these */
	mode = mapex_current_covering(inode, start, end,
				      BIT(MAPEX_MODE_DIRECT_WRITE) |
				      BIT(MAPEX_MODE_INVAL));
	if (mode < 0)
		return ret;
	deadline = jiffies + msecs_to_jiffies(MAPEX_SETTLE_MS);
	while (ret == -EBUSY && !time_after(jiffies, deadline)) {
		mapex_count(p, MAPEX_CNT_SETTLE_WAIT, mode);
		if (schedule_timeout_killable(1) || fatal_signal_pending(current))
			break;
		if (filemap_range_needs_writeback(mapping, start, lend) &&
		    filemap_write_and_wait_range(mapping, start, lend))
			break;	/* recorded for fsync; fail as the kernel would */
		ret = orig(mapping, first, last);
	}
	return ret;
}

int mapex_invalidate_pages2_wrap(struct address_space *mapping,
				 pgoff_t first, pgoff_t last)
{
	mapex_invalidate_pages2_t orig =
		MAPEX_ORIG(&mapex_core_hooks[MAPEX_CORE_INVALIDATE_PAGES2],
			   mapex_invalidate_pages2_t);
	int ret;

	mapex_wrapper_enter();
	ret = orig(mapping, first, last);
	if (ret == -EBUSY && mapping->host)
		ret = mapex_settle(orig, mapping, first, last);
	mapex_wrapper_leave();
	return ret;
}
