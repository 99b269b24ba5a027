// SPDX-License-Identifier: GPL-2.0
/*
 * module/redirty.c - a direct read's user pages dirtied when its bios
 * complete, done under FAULT ranges like any page-cache user.
 *
 * A direct read into a shared mapping of a guarded file F dirties the
 * pages of F it filled when it is done with them, in
 * __bio_release_pages(bio, true), from one of three places:
 *   - bio_dirty_work: bio_check_pages_dirty() queues the bio there when
 *     writeback cleaned one of its folios while the device filled it, and
 *     the worker dirties them later, after the read (a guarded one held
 *     FAULT over F's pages, module/buffer.c) has given its ranges back;
 *   - the reading task itself, after its bio completed, when no
 *     filesystem hook saw the read: a synchronous direct read from a block
 *     device (block/fops.c, __blkdev_direct_IO_simple) or SG_IO
 *     (blk_rq_unmap_user);
 *   - interrupt context, never with @mark_dirty (bio_check_pages_dirty()
 *     defers rather than dirty there).
 * A direct write to F in between finds folios dirtied under its
 * DIRECT_WRITE range, and its invalidation fails (cases 3 and 7 of
 * docs/locking.md).  So __bio_release_pages() is redirected here: with
 * @mark_dirty, in a task that holds no range, it first takes FAULT over
 * the folios of guarded files in the bio, one range per inode in inode
 * address order (rule 1, as a set), waiting like an entry point.  A task
 * that holds ranges is inside a guarded operation whose own set covers the
 * pages it dirties (module/buffer.c) and must not wait for more; it, and
 * every call without @mark_dirty, runs the original untouched.
 *
 * Lifetimes: the bio pins its folios, not their inodes or superblocks.
 * Under the folio lock a folio's mapping is stable and its inode alive;
 * there the inode gets a reference and its superblock an active one, so
 * that neither eviction nor unmount frees them while the task waits.  A
 * superblock already going away (s_active 0) or an inode being freed has
 * no open file, so no direct IO of it can be in flight: nothing to wait
 * for.  The references are dropped outside the folio lock, because the
 * last iput() truncates the page cache and the last deactivate_super()
 * shuts the filesystem down.
 *
 * Lock ordering: the task holds no range when it waits for its ranges,
 * and no filesystem lock either (the worker runs a work item of its own;
 * the block device and SG_IO paths have completed their IO and hold
 * nothing).  Before them it takes each folio lock alone and waits on
 * nothing under it; under them the original locks the folios, range ->
 * folio lock as for any page-cache user (the list is in module/request.c).
 */
#include <linux/bio.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "interpose.h"

typedef void (*mapex_bio_release_pages_t)(struct bio *bio, bool mark_dirty);

struct mapex_redirty {
	unsigned int		nr, cap;
	struct mapex_hold	*h;	/* each inode referenced: h_inline or heap */
	struct mapex_hold	h_inline[MAPEX_SET_INLINE];
};

/* Add the span of @folio to @r if it is page cache of a guarded file. */
static void mapex_redirty_add(struct mapex_redirty *r, struct folio *folio)
{
	struct super_block *sb = NULL;
	struct address_space *mapping;
	struct inode *inode = NULL;
	struct mapex_profile *p;
	u64 start, end;

	if (folio_test_anon(folio))	/* stable while pinned: no lock */
		return;
	folio_lock(folio);
	mapping = folio->mapping;
	if (!mapping || ((unsigned long)mapping & PAGE_MAPPING_FLAGS) ||
	    !S_ISREG(mapping->host->i_mode))
		goto unlock;
	p = mapex_profile_of(mapping->host);
	if (!p || !READ_ONCE(p->enabled))
		goto unlock;
	start = folio_pos(folio);
	end = start + folio_size(folio);
	mapex_span(mapping->host, &start, &end);
	if (mapex_holds_widen(r->h, r->nr, mapping->host, start, end))
		goto unlock;
	/* IO completion work: no IO for memory (GFP_NOIO) */
	if (mapex_holds_grow(&r->h, NULL, r->nr, &r->cap, r->h_inline,
			     GFP_NOIO)) {
		mapex_count(p, MAPEX_CNT_UNGUARDED, MAPEX_MODE_FAULT);
		goto unlock;
	}
	sb = mapping->host->i_sb;
	if (!atomic_inc_not_zero(&sb->s_active)) {
		sb = NULL;		/* being unmounted: no IO in flight */
		goto unlock;
	}
	inode = igrab(mapping->host);	/* NULL: being freed, no IO either */
	if (inode)
		mapex_set_request(&r->h[r->nr++], p, inode, MAPEX_OP_REDIRTY,
				  MAPEX_MODE_FAULT, start, end);
unlock:
	folio_unlock(folio);
	if (sb && !inode)
		deactivate_super(sb);
}

/* Release what @r holds and drop its references. */
static void mapex_redirty_put(struct mapex_redirty *r)
{
	unsigned int i;

	for (i = r->nr; i-- > 0;) {
		struct inode *inode = r->h[i].inode;
		struct super_block *sb = inode->i_sb;

		mapex_release(&r->h[i]);
		iput(inode);
		deactivate_super(sb);
	}
	if (r->h != r->h_inline)
		kfree(r->h);
}

/*
 * The original under FAULT over every guarded file's folios in @bio.  Out
 * of line: its set is most of a kilobyte of stack, and the wrapper below
 * also runs for every pinned bio completing in interrupt context.
 */
static noinline void mapex_redirty_run(struct bio *bio,
				       mapex_bio_release_pages_t orig)
{
	struct mapex_redirty r = { .cap = MAPEX_SET_INLINE };
	struct folio_iter fi;
	unsigned int i;

	r.h = r.h_inline;
	bio_for_each_folio_all(fi, bio)
		mapex_redirty_add(&r, fi.folio);
	mapex_holds_sort(r.h, NULL, r.nr);
	/* the task holds no other range: each may wait (rule 1) */
	for (i = 0; i < r.nr; i++)
		mapex_acquire_ordered(&r.h[i], false, i);
	orig(bio, true);
	mapex_redirty_put(&r);
}

/*
 * __bio_release_pages(): with @mark_dirty, in a task that holds no range,
 * the original runs under FAULT over every guarded file's folios in @bio.
 * Anywhere else (interrupt context included) it runs untouched.
 */
void mapex_bio_release_pages_wrap(struct bio *bio, bool mark_dirty)
{
	struct mapex_hook *hook =
		&mapex_core_hooks[MAPEX_CORE_BIO_RELEASE_PAGES];
	mapex_bio_release_pages_t orig =
		MAPEX_ORIG(hook, mapex_bio_release_pages_t);

	mapex_wrapper_enter();	/* the original may sleep in folio_lock() */
	if (mark_dirty && mapex_current_may_wait())
		mapex_redirty_run(bio, orig);
	else
		orig(bio, mark_dirty);
	mapex_wrapper_leave();
}
