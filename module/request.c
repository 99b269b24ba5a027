// SPDX-License-Identifier: GPL-2.0
/*
 * module/request.c - how a wrapper takes and gives back a range: the span
 * a request covers (whole folios), waiting, trying once, nested requests
 * of a task that already holds a range, and the contention callbacks.
 *
 * Lock ordering (the one list; docs/locking.md gives the reason for each
 * rule):
 *
 *   sb_writers          (freeze protection: vfs_write, vfs_fallocate, the
 *                        truncates, clone; an extent-moving ioctl's
 *                        mnt_want_write_file, so those are hooked below it)
 *   -> mapex range lock  (->read_iter, ->write_iter, ->fallocate, do_truncate,
 *                      ->fault and ->page_mkwrite when they may, the
 *                      deferred-fault task_work, a wrapper's fault-in step,
 *                      the extent movers: module/inval.c, the late
 *                      dirtying of a direct read's pages: module/redirty.c,
 *                      the kernel's writes into a process: module/remote.c)
 *     -> i_rwsem
 *       -> mmap_lock            (user copies and GUP inside IO)
 *         -> invalidate_lock
 *           -> folio lock
 *
 *   1. Only a task that holds no range, and no lock a range holder could
 *      wait for, sleeps on a range: a wrapper at the filesystem's entry,
 *      a user-mode fault at its return to user (module/fault.c), a
 *      wrapper's fault-in step after it released its own range (rw.c).
 *      The one exception is a set (module/buffer.c: a direct IO and
 *      the files its buffer maps): one range per inode, taken in inode
 *      address order, each waiting.  Every task that waits while holding
 *      takes its ranges in that one order, so no two wait for each other.
 *   2. A task that holds a range never sleeps on another one.  A nested
 *      request that fits what is granted is granted at once; a nested
 *      fault that does not fit fails fast (VM_FAULT_SIGBUS: the user copy
 *      comes back short, GUP fails) and is noted in the task's hold
 *      records, and the wrapper that owns them redoes the rest of its
 *      operation after releasing (rule 1).  Nothing proceeds unguarded.
 *   3. A kernel-mode fault of a task that holds nothing may hold i_rwsem
 *      (FIEMAP), a pipe or socket lock, or a range holder's IOLOCK: it
 *      never sleeps on a range without a bound.  It waits at most
 *      fault_wait_ms (killable), then fails fast: a cycle through such a
 *      lock costs that delay, never a deadlock (lockdep sees a trylock).
 *   4. Ranges are never taken under i_rwsem or invalidate_lock:
 *      truncate_pagecache*() and __iomap_dio_rw() are observed only
 *      (module/checkpoint.c).
 *   5. A range is never taken before freeze protection (sb_writers): a
 *      wrapper sits where the filesystem already holds it.  The lockdep
 *      kernel found the reverse in 0.4.0's ioctl hooks (docs/locking.md,
 *      rule 13).
 *   6. The module notifier chain's rwsem ranks above mapex_profiles_mutex
 *      (module/profile.c; rule 12).
 *   7. Spinlocks below are leaves and never nest in one another:
 *      mapex_hold_bucket.lock (hold.c), the range lock's bucket lock
 *      (rangelock.c, which has its own list), mapex_aio_lock (aio.c).
 *   8. ->readahead (btrfs) runs under folio locks, inside a fault or a
 *      read's range: it never takes or waits for a range, it only looks
 *      and reads nothing under a DIRECT_WRITE or INVAL range
 *      (module/readahead.c; rule 14).
 *   9. A pipe's lock ranks above the range lock: splice reads and writes
 *      take their range under it (module/rw.c; rule 15).
 *  10. A direct write's invalidation that btrfs refuses (extents still
 *      locked by earlier IO) waits, inside the write's grant and where the
 *      caller already waits for folio locks, for that IO, which takes no
 *      range; killable, at most 1 s (module/settle.c; rule 16).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/pagemap.h>

#include "interpose.h"
#include "rangelock.h"
#include "trace.h"

static struct mapex_lock_table mapex_table;

/*
 * Widen [start, end) to whole folios of the largest size @inode's mapping
 * may use (docs/rangelock.md, "Folio spans").  Page cache folios are
 * naturally aligned and no larger than that, so two operations that touch
 * one folio always get overlapping spans, whichever page each names.
 */
void mapex_span(const struct inode *inode, u64 *start, u64 *end)
{
	u64 size = mapping_max_folio_size(inode->i_mapping);

	*start = round_down(*start, size);
	if (*end > U64_MAX - size)
		*end = U64_MAX;
	else
		*end = round_up(*end, size);
}

void mapex_set_request(struct mapex_hold *h, struct mapex_profile *p,
		       struct inode *inode, unsigned int op,
		       unsigned int mode, u64 start, u64 end)
{
	h->profile = p;
	h->inode = inode;
	h->op = op;
	h->mode = mode;
	h->start = start;
	h->end = end;
	h->refused = false;
	h->refused_file = NULL;
}

static __always_inline void mapex_granted(struct mapex_hold *h)
{
	WRITE_ONCE(h->state, MAPEX_HOLD_LOCKED);
	mapex_count(h->profile, MAPEX_CNT_ACQUIRED, h->mode);
	/* mapex_release reports who held the range and how long */
	h->granted_ns = 0;
	if (trace_mapex_release_enabled()) {
		h->granted_ns = ktime_get_ns();
		h->granted_pid = task_tgid_nr(current);
		h->granted_tid = task_pid_nr(current);
	}
	/* the test first: otherwise the arguments are loaded on every call */
	if (trace_mapex_acquire_enabled())
		trace_mapex_acquire(MAPEX_DEV(h->inode), h->inode->i_ino,
				    h->start, h->end, h->mode, h->op);
}

/*
 * The range lock refused the request as invalid (it WARNs): count it as
 * unguarded and let the caller proceed, as without mapex.
 */
static void mapex_invalid(struct mapex_hold *h)
{
	WRITE_ONCE(h->state, MAPEX_HOLD_BYPASS);
	mapex_count(h->profile, MAPEX_CNT_UNGUARDED, h->mode);
}

/* A trylock answered @ret (1, 0, -errno): 1 if the caller may proceed. */
static int mapex_settle_try(struct mapex_hold *h, int ret)
{
	if (ret == 1)
		mapex_granted(h);
	else if (ret < 0)
		mapex_invalid(h);
	return ret != 0;
}

/* Counted and traced: a request that did not fit and fails fast. */
void mapex_refuse(struct mapex_hold *h)
{
	mapex_count(h->profile, MAPEX_CNT_REFUSED, h->mode);
	trace_mapex_refused(MAPEX_DEV(h->inode), h->inode->i_ino, h->start,
			    h->end, h->mode, h->op);
}

/*
 * A request of a task that already holds a range: 1 if it may proceed
 * (covered by a range the task holds in its own mode, INVAL or one of
 * @also_covers, or granted because it fits every granted range), 0 if it
 * does not fit.  Never queued behind waiters: they may be waiting for
 * this task.  Never sleeps.
 */
int mapex_try_nested(struct mapex_hold *h, unsigned int also_covers)
{
	int ret;

	if (mapex_current_covers(h->inode, h->start, h->end,
				 BIT(h->mode) | BIT(MAPEX_MODE_INVAL) |
				 also_covers)) {
		WRITE_ONCE(h->state, MAPEX_HOLD_BYPASS);
		return 1;
	}
	ret = mapex_range_trylock_nested(&mapex_table, h->inode, &h->range,
					 h->start, h->end, h->mode);
	return mapex_settle_try(h, ret);
}

/* Try once: 1 if the caller may proceed, 0 if the request would wait. */
int mapex_acquire_once(struct mapex_hold *h)
{
	return mapex_settle_try(h, mapex_range_trylock(&mapex_table, h->inode,
						       &h->range, h->start,
						       h->end, h->mode));
}

/*
 * Register @h for the current task and request its range, waiting unless
 * @nowait (IOCB_NOWAIT).  Returns 1 if the caller may proceed (locked, or
 * covered by a range it holds), 0 if a @nowait request would block,
 * -EINTR if killed while waiting, or -EDEADLK for a nested request that
 * does not fit (an IO, fallocate or truncate issued by a task that
 * already holds a range: rule 2 forbids the wait, and proceeding would be
 * unguarded).  On 0 and errors @h stays registered in state WAITING or
 * NONE; mapex_release() unregisters in every case.
 */
/*
 * Wait for @h's range; @pos: its position in a set (0: the first range,
 * or not in a set), the lockdep subclass of the grant.
 */
static int mapex_acquire_wait(struct mapex_hold *h, bool nowait,
			      unsigned int pos)
{
	int ret;

	if (nowait)
		return mapex_acquire_once(h);
	WRITE_ONCE(h->state, MAPEX_HOLD_WAITING);
	ret = mapex_range_lock_killable_nested(&mapex_table, h->inode,
					       &h->range, h->start, h->end,
					       h->mode, pos);
	if (ret == -EINTR)
		return -EINTR;
	if (ret == 0)
		mapex_granted(h);
	else
		mapex_invalid(h);
	return 1;
}

/*
 * A kernel-mode fault of a task that holds nothing (module/fault.c, rule
 * 3): wait at most @timeout jiffies for @h's range, prepared unlisted.
 * Returns 1 if the caller may proceed (@h listed; mapex_release() gives it
 * back), 0 if the time ran out or a fatal signal came (@h unlisted,
 * nothing queued).
 */
int mapex_acquire_timeout(struct mapex_hold *h, long timeout)
{
	int ret;

	mapex_hold_register(h);
	WRITE_ONCE(h->state, MAPEX_HOLD_WAITING);
	ret = mapex_range_lock_timeout(&mapex_table, h->inode, &h->range,
				       h->start, h->end, h->mode, timeout);
	if (ret == -ETIMEDOUT || ret == -EINTR) {
		mapex_hold_unregister(h);
		WRITE_ONCE(h->state, MAPEX_HOLD_NONE);
		return 0;
	}
	if (ret == 0)
		mapex_granted(h);
	else
		mapex_invalid(h);
	return 1;
}

int mapex_acquire(struct mapex_hold *h, bool nowait)
{
	if (mapex_hold_register(h)) {
		if (mapex_try_nested(h, 0))
			return 1;
		mapex_refuse(h);
		return -EDEADLK;
	}
	return mapex_acquire_wait(h, nowait, 0);
}

/*
 * The second and later ranges of a set (module/buffer.c), taken in inode
 * address order by a task that holds nothing but the set's earlier
 * ranges: it may wait (rule 1).  As mapex_acquire() otherwise.
 */
int mapex_acquire_ordered(struct mapex_hold *h, bool nowait,
			  unsigned int pos)
{
	mapex_hold_register(h);
	return mapex_acquire_wait(h, nowait, pos);
}

/* The mapex_release event of @h, the range of inode (@dev, @ino). */
void mapex_trace_release(const struct mapex_hold *h, u32 dev, u64 ino)
{
	u64 held = 0;

	/* 0 means "not timed": a timed hold reports at least 1 ns */
	if (h->granted_ns)
		held = max(ktime_get_ns() - h->granted_ns, 1ULL);

	trace_mapex_release(dev, ino, h->start, h->end, h->mode, h->op,
			    held ? h->granted_pid : 0,
			    held ? h->granted_tid : 0, held);
}

void mapex_unlock_hold(struct mapex_hold *h)
{
	if (trace_mapex_release_enabled())	/* see mapex_granted() */
		mapex_trace_release(h, MAPEX_DEV(h->inode), h->inode->i_ino);
	mapex_range_unlock(&h->range);
	h->state = MAPEX_HOLD_NONE;
}

/* Unregister @h and release its range if it holds one. */
void mapex_release(struct mapex_hold *h)
{
	mapex_hold_unregister(h);
	if (h->state == MAPEX_HOLD_LOCKED)
		mapex_unlock_hold(h);
}

/*
 * The mode of a range another task holds over [start, end) of @inode in
 * one of @modes, or -1 (module/checkpoint.c, the collision detector).
 */
int mapex_held_by_other(struct inode *inode, u64 start, u64 end,
			unsigned int modes)
{
	return mapex_range_held_by_other(&mapex_table, inode, start, end,
					 modes, task_pid_nr(current));
}

/* The same, the current task's ranges included (module/readahead.c). */
int mapex_held_by_any(struct inode *inode, u64 start, u64 end,
		      unsigned int modes)
{
	/* pid 0 is the idle task's, which never holds a range */
	return mapex_range_held_by_other(&mapex_table, inode, start, end,
					 modes, 0);
}

/* Contention callbacks of the lock class: attribute them to the op. */
static void mapex_contention_begin(const struct mapex_range *w,
				   unsigned int holder_mode, pid_t holder_pid)
{
	struct mapex_hold *h = mapex_current_waiting();
	const struct inode *inode = mapex_range_key(w);

	if (!h)
		return;
	mapex_count(h->profile, MAPEX_CNT_CONTENDED, h->mode);
	trace_mapex_contention_begin(MAPEX_DEV(inode), inode->i_ino,
				     mapex_range_start(w), mapex_range_end(w),
				     mapex_range_mode(w), holder_mode,
				     holder_pid, h->op);
}

static void mapex_contention_end(const struct mapex_range *w,
				 unsigned int holder_mode, u64 wait_ns,
				 int result)
{
	struct mapex_hold *h = mapex_current_waiting();
	const struct inode *inode = mapex_range_key(w);

	trace_mapex_contention_end(MAPEX_DEV(inode), inode->i_ino,
				   mapex_range_start(w), mapex_range_end(w),
				   mapex_range_mode(w), holder_mode, wait_ns,
				   result, h ? h->op : MAPEX_NR_OPS);
}

int mapex_requests_init(void)
{
	int err;

	mapex_hold_init();
	mapex_default_class.contention_begin = mapex_contention_begin;
	mapex_default_class.contention_end = mapex_contention_end;
	err = mapex_class_init(&mapex_default_class);
	if (err)
		return err;
	err = mapex_table_init(&mapex_table, &mapex_default_class);
	if (err)
		mapex_class_exit(&mapex_default_class);
	return err;
}

void mapex_requests_exit(void)
{
	mapex_table_destroy(&mapex_table);
	mapex_class_exit(&mapex_default_class);
}
