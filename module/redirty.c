// SPDX-License-Identifier: GPL-2.0
/*
 * module/redirty.c - the block layer's deferred re-dirtying of a direct
 * read's user pages, done under FAULT ranges like any page-cache user.
 *
 * A direct read into a shared mapping of a guarded file F holds FAULT over
 * the pages of F it fills (module/buffer.c) until it completes.  Its bios
 * dirty those pages at the end: bio_check_pages_dirty() releases them at
 * once when every folio is still dirty, and otherwise (writeback cleaned
 * one while the device was filling it) queues the bio for bio_dirty_work,
 * whose bio_dirty_fn() calls __bio_release_pages(bio, true) later, after
 * the read has given its ranges back.  A direct write to F in between
 * finds folios dirtied under its DIRECT_WRITE range, and its invalidation
 * fails (cases 3 and 7 of docs/locking.md).  So __bio_release_pages() is
 * redirected here: when it runs in bio_dirty_work to dirty pages, it
 * first takes FAULT over the folios of guarded files in the bio, one range
 * per inode in inode address order (rule 1, as a set), waiting like an
 * entry point.  Everywhere else it runs untouched: a direct read that
 * dirties its pages itself does so in its own task, under its own set.
 *
 * Lifetimes: the bio pins its folios, not their inodes or superblocks.
 * Under the folio lock a folio's mapping is stable and its inode alive;
 * there the inode gets a reference and its superblock an active one, so
 * that neither eviction nor unmount frees them while the worker waits.  A
 * superblock already going away (s_active 0) or an inode being freed has
 * no open file, so no direct IO of it can be in flight: nothing to wait
 * for.  The references are dropped outside the folio lock, because the
 * last iput() truncates the page cache and the last deactivate_super()
 * shuts the filesystem down.
 *
 * Lock ordering: the worker holds nothing when it waits for its ranges
 * (it runs a work item of its own).  Before them it takes each folio lock
 * alone and waits on nothing under it; under them the original locks the
 * folios, range -> folio lock as for any page-cache user (the list is in
 * module/request.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/workqueue.h>

#include "interpose.h"

typedef void (*mapex_bio_release_pages_t)(struct bio *bio, bool mark_dirty);

/* The work function of the block layer's bio_dirty_work (block/bio.c). */
static unsigned long mapex_bio_dirty_fn;

struct mapex_redirty {
	unsigned int		nr;
	struct mapex_hold	h[MAPEX_SET_MAX];	/* each inode referenced */
};

/* Does the current task run bio_dirty_work? */
static bool mapex_in_bio_dirty_work(void)
{
	struct work_struct *work = current_work();

	return work && mapex_bio_dirty_fn &&
	       (unsigned long)work->func == mapex_bio_dirty_fn;
}

/* Add the span of @folio to @r if it is page cache of a guarded file. */
static void mapex_redirty_add(struct mapex_redirty *r, struct folio *folio)
{
	struct super_block *sb = NULL;
	struct address_space *mapping;
	struct inode *inode = NULL;
	struct mapex_profile *p;
	u64 start, end;

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
	if (r->nr == MAPEX_SET_MAX) {
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
}

/*
 * __bio_release_pages(): in bio_dirty_work with @mark_dirty, the original
 * runs under FAULT over every guarded file's folios in @bio.
 */
void mapex_bio_release_pages_wrap(struct bio *bio, bool mark_dirty)
{
	struct mapex_hook *hook =
		&mapex_core_hooks[MAPEX_CORE_BIO_RELEASE_PAGES];
	mapex_bio_release_pages_t orig =
		MAPEX_ORIG(hook, mapex_bio_release_pages_t);
	struct mapex_redirty r = { .nr = 0 };
	struct folio_iter fi;
	unsigned int i;

	mapex_wrapper_enter();	/* the original may sleep in folio_lock() */
	if (!mark_dirty || !mapex_in_bio_dirty_work()) {
		orig(bio, mark_dirty);
		mapex_wrapper_leave();
		return;
	}
	bio_for_each_folio_all(fi, bio)
		mapex_redirty_add(&r, fi.folio);
	mapex_holds_sort(r.h, NULL, r.nr);
	/* the worker holds nothing else: each range may wait (rule 1) */
	for (i = 0; i < r.nr; i++)
		mapex_acquire_ordered(&r.h[i], false, i);
	orig(bio, mark_dirty);
	mapex_redirty_put(&r);
	mapex_wrapper_leave();
}

/* Find bio_dirty_fn(); without it the redirection changes nothing. */
void mapex_redirty_init(void)
{
	mapex_bio_dirty_fn = mapex_function_address("bio_dirty_fn");
	if (!mapex_bio_dirty_fn)
		pr_warn("bio_dirty_fn not found: the deferred re-dirtying of direct reads stays unguarded\n");
}
