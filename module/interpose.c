// SPDX-License-Identifier: GPL-2.0
/*
 * module/interpose.c - routes the filesystems' entry points through the
 * mapex range lock: the per-filesystem profiles, the wrappers that take the
 * lock in the right mode over the right range, asynchronous direct IO that
 * keeps its range until completion, the checkpoints that count unguarded
 * page-cache operations, and the module notifier that hooks a filesystem
 * when its module loads.
 *
 * Lock ordering (docs/locking.md gives the reasons):
 *
 *   mapex range lock (taken at ->read_iter, ->write_iter, ->fallocate,
 *                     ->fault, ->page_mkwrite, do_truncate)
 *     -> i_rwsem
 *       -> mmap_lock            (user copies and GUP inside IO)
 *         -> invalidate_lock
 *           -> folio lock
 *
 *   mmap_lock / per-VMA lock -> mapex range lock only without sleeping:
 *     a fault that would wait drops the fault lock first and returns
 *     VM_FAULT_RETRY; if it may not drop it, it proceeds unguarded.
 *
 *   A task that holds a mapex range never sleeps on another one: a nested
 *   request (fault during IO, IO into an mmap of a file) is granted at once
 *   if it fits the granted ranges, otherwise it proceeds and is counted.
 *
 *   Never taken inside i_rwsem or invalidate_lock: truncate_pagecache*()
 *   and __iomap_dio_rw() run under them and are only observed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/hash.h>
#include <linux/interrupt.h>
#include <linux/llist.h>
#include <linux/refcount.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>

#include "hold.h"
#include "hook.h"
#include "interpose.h"
#include "kfeatures.h"
#include "rangelock.h"
#include "trace.h"

static struct mapex_lock_table mapex_table;
static DEFINE_MUTEX(mapex_profiles_mutex);	/* hooked/selected state */

/* ---- profiles ---------------------------------------------------------- */

typedef ssize_t (*mapex_rw_iter_t)(struct kiocb *, struct iov_iter *);
typedef vm_fault_t (*mapex_fault_t)(struct vm_fault *);
typedef long (*mapex_fallocate_t)(struct file *, int, loff_t, loff_t);
typedef int (*mapex_truncate_t)(void *, struct dentry *, loff_t,
				unsigned int, struct file *);

static ssize_t mapex_rw_iter(struct mapex_profile *p, struct mapex_hook *h,
			     struct kiocb *iocb, struct iov_iter *iter,
			     bool write);
static vm_fault_t mapex_fault(struct mapex_profile *p, struct mapex_hook *h,
			      struct vm_fault *vmf, unsigned int op);
static long mapex_fallocate(struct mapex_profile *p, struct mapex_hook *h,
			    struct file *file, int mode, loff_t off,
			    loff_t len);

/*
 * One stub per (filesystem, entry point): the stub knows which original to
 * call.  The logic lives in the generic functions above.
 */
#define MAPEX_FS_WRAPPERS(fs, idx)					\
static ssize_t fs##_read_iter_wrap(struct kiocb *iocb, struct iov_iter *to) \
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_rw_iter(p, &p->hooks[MAPEX_ENTRY_READ_ITER], iocb, to, false); \
}									\
static ssize_t fs##_write_iter_wrap(struct kiocb *iocb, struct iov_iter *from) \
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_rw_iter(p, &p->hooks[MAPEX_ENTRY_WRITE_ITER], iocb, from, true); \
}									\
static vm_fault_t fs##_fault_wrap(struct vm_fault *vmf)		\
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_fault(p, &p->hooks[MAPEX_ENTRY_FAULT], vmf, MAPEX_OP_FAULT); \
}									\
static vm_fault_t fs##_page_mkwrite_wrap(struct vm_fault *vmf)		\
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_fault(p, &p->hooks[MAPEX_ENTRY_PAGE_MKWRITE], vmf, MAPEX_OP_MKWRITE); \
}									\
static long fs##_fallocate_wrap(struct file *file, int mode, loff_t off, \
				loff_t len)				\
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_fallocate(p, &p->hooks[MAPEX_ENTRY_FALLOCATE], file, mode, off, len); \
}

enum { MAPEX_FS_EXT4, MAPEX_FS_XFS, MAPEX_FS_BTRFS };
MAPEX_FS_WRAPPERS(ext4, MAPEX_FS_EXT4)
MAPEX_FS_WRAPPERS(xfs, MAPEX_FS_XFS)
MAPEX_FS_WRAPPERS(btrfs, MAPEX_FS_BTRFS)

#define MAPEX_HOOK(sym, fn)	{ .symbol = sym, .wrapper = fn }

/* A NULL fault symbol means the filesystem uses filemap_fault (hooked once). */
struct mapex_profile mapex_profiles[] = {
	[MAPEX_FS_EXT4] = {
		.fstype = "ext4", .module = "ext4",
		.hooks = {
			MAPEX_HOOK("ext4_file_read_iter", ext4_read_iter_wrap),
			MAPEX_HOOK("ext4_file_write_iter", ext4_write_iter_wrap),
			MAPEX_HOOK(NULL, ext4_fault_wrap),
			MAPEX_HOOK("ext4_page_mkwrite", ext4_page_mkwrite_wrap),
			MAPEX_HOOK("ext4_fallocate", ext4_fallocate_wrap),
		},
	},
	[MAPEX_FS_XFS] = {
		.fstype = "xfs", .module = "xfs",
		.hooks = {
			MAPEX_HOOK("xfs_file_read_iter", xfs_read_iter_wrap),
			MAPEX_HOOK("xfs_file_write_iter", xfs_write_iter_wrap),
			MAPEX_HOOK("xfs_filemap_fault", xfs_fault_wrap),
			MAPEX_HOOK("xfs_filemap_page_mkwrite", xfs_page_mkwrite_wrap),
			MAPEX_HOOK("xfs_file_fallocate", xfs_fallocate_wrap),
		},
	},
	[MAPEX_FS_BTRFS] = {
		.fstype = "btrfs", .module = "btrfs",
		.hooks = {
			MAPEX_HOOK("btrfs_file_read_iter", btrfs_read_iter_wrap),
			MAPEX_HOOK("btrfs_file_write_iter", btrfs_write_iter_wrap),
			MAPEX_HOOK(NULL, btrfs_fault_wrap),
			MAPEX_HOOK("btrfs_page_mkwrite", btrfs_page_mkwrite_wrap),
			MAPEX_HOOK("btrfs_fallocate", btrfs_fallocate_wrap),
		},
	},
};
const unsigned int mapex_nr_profiles = ARRAY_SIZE(mapex_profiles);

static struct mapex_profile *mapex_profile_of(const struct inode *inode)
{
	const char *name = inode->i_sb->s_type->name;
	unsigned int i;

	for (i = 0; i < mapex_nr_profiles; i++)
		if (READ_ONCE(mapex_profiles[i].hooked) &&
		    !strcmp(mapex_profiles[i].fstype, name))
			return &mapex_profiles[i];
	return NULL;
}

static void mapex_count(struct mapex_profile *p, enum mapex_counter c,
			unsigned int mode)
{
	this_cpu_inc(p->stats->count[c][mode]);
}

void mapex_profile_read_stats(struct mapex_profile *p,
			      struct mapex_fs_stats *sum)
{
	unsigned int c, m;
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct mapex_fs_stats *s = per_cpu_ptr(p->stats, cpu);

		for (c = 0; c < MAPEX_NR_COUNTERS; c++)
			for (m = 0; m < MAPEX_NR_MODES; m++)
				sum->count[c][m] += s->count[c][m];
	}
}

/* ---- taking and releasing a range -------------------------------------- */

#define MAPEX_DEV(inode)	((u32)(inode)->i_sb->s_dev)

static void mapex_set_request(struct mapex_hold *h, struct mapex_profile *p,
			      struct inode *inode, unsigned int op,
			      unsigned int mode, u64 start, u64 end)
{
	h->profile = p;
	h->inode = inode;
	h->op = op;
	h->mode = mode;
	h->start = start;
	h->end = end;
}

static __always_inline void mapex_granted(struct mapex_hold *h)
{
	WRITE_ONCE(h->state, MAPEX_HOLD_LOCKED);
	mapex_count(h->profile, MAPEX_CNT_ACQUIRED, h->mode);
	/* the test first: otherwise the arguments are loaded on every call */
	if (trace_mapex_acquire_enabled())
		trace_mapex_acquire(MAPEX_DEV(h->inode), h->inode->i_ino,
				    h->start, h->end, h->mode, h->op);
}

static void mapex_bypass(struct mapex_hold *h, enum mapex_counter why)
{
	WRITE_ONCE(h->state, MAPEX_HOLD_BYPASS);
	mapex_count(h->profile, why, h->mode);
	if (why == MAPEX_CNT_NESTED_BYPASS)
		trace_mapex_nested_bypass(MAPEX_DEV(h->inode), h->inode->i_ino,
					  h->start, h->end, h->mode, h->op);
}

/*
 * A request of a task that already holds a range: granted if it fits the
 * current holders, never queued behind waiters (they may be waiting for
 * this task), otherwise bypassed and counted.  It always proceeds.
 */
static int mapex_acquire_nested(struct mapex_hold *h)
{
	int ret;

	if (mapex_current_covers(h->inode, h->start, h->end,
				 BIT(h->mode) | BIT(MAPEX_MODE_INVAL))) {
		WRITE_ONCE(h->state, MAPEX_HOLD_BYPASS);
		return 1;
	}
	ret = mapex_range_trylock_nested(&mapex_table, h->inode, &h->range,
					 h->start, h->end, h->mode);
	if (ret == 1)
		mapex_granted(h);
	else
		mapex_bypass(h, ret == 0 ? MAPEX_CNT_NESTED_BYPASS :
				       MAPEX_CNT_UNGUARDED);
	return 1;
}

/*
 * The range lock answered: granted, or refused the request as invalid
 * (it WARNs), which proceeds unguarded and is counted.  Returns 1: the
 * caller may proceed.
 */
static __always_inline int mapex_settle(struct mapex_hold *h, bool granted)
{
	if (likely(granted))
		mapex_granted(h);
	else
		mapex_bypass(h, MAPEX_CNT_UNGUARDED);
	return 1;
}

/* Try once: 1 if the caller may proceed, 0 if the request would wait. */
static __always_inline int mapex_acquire_once(struct mapex_hold *h)
{
	int ret = mapex_range_trylock(&mapex_table, h->inode, &h->range,
				      h->start, h->end, h->mode);

	return ret ? mapex_settle(h, ret == 1) : 0;
}

/*
 * Register @h for the current task and request its range, waiting unless
 * @nowait (IOCB_NOWAIT).  Returns 1 if the caller may proceed (locked,
 * covered by a range it holds, or bypassed and counted), 0 if a @nowait
 * request would block, or -EINTR if killed while waiting.  On 0 and
 * -EINTR @h stays registered in state WAITING or NONE; mapex_release()
 * unregisters in every case.
 */
static int mapex_acquire(struct mapex_hold *h, bool nowait)
{
	int ret;

	if (mapex_hold_register(h))
		return mapex_acquire_nested(h);
	if (nowait)
		return mapex_acquire_once(h);
	WRITE_ONCE(h->state, MAPEX_HOLD_WAITING);
	ret = mapex_range_lock_killable(&mapex_table, h->inode, &h->range,
					h->start, h->end, h->mode);
	return ret == -EINTR ? -EINTR : mapex_settle(h, ret == 0);
}

static __always_inline void mapex_trace_release(const struct mapex_hold *h)
{
	if (trace_mapex_release_enabled())	/* see mapex_granted() */
		trace_mapex_release(MAPEX_DEV(h->inode), h->inode->i_ino,
				    h->start, h->end, h->mode, h->op);
}

static __always_inline void mapex_unlock_hold(struct mapex_hold *h)
{
	mapex_trace_release(h);
	mapex_range_unlock(&h->range);
}

static __always_inline void mapex_release(struct mapex_hold *h)
{
	mapex_hold_unregister(h);
	if (h->state == MAPEX_HOLD_LOCKED)
		mapex_unlock_hold(h);
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

/* ---- read/write: buffered and direct, sync and async ------------------- */

/*
 * An asynchronous direct IO keeps its range from submission until its
 * completion: ki_complete is wrapped and the range is released right after
 * the original completion has run.  In task or softirq context that is
 * done at once.  A completion in hardirq context (a read's bio end_io)
 * releases at once only if its range is the lone holder of its bucket (no
 * spinlock needed); otherwise it cannot take the softirq-safe bucket lock
 * and hands the release to a tasklet, which runs as the interrupt returns.
 * The context pins the module until it is released.
 */
struct mapex_aio {
	struct mapex_hold	hold;
	void			(*ki_complete)(struct kiocb *iocb, long ret);
	struct kiocb		*iocb;
	refcount_t		ref;	/* submitter + completion */
	struct hlist_node	node;	/* in mapex_aio_table, by iocb */
	struct llist_node	deferred; /* on mapex_aio_deferred */
};

#define MAPEX_AIO_HASH_BITS	8
static struct hlist_head mapex_aio_table[1 << MAPEX_AIO_HASH_BITS];
static DEFINE_SPINLOCK(mapex_aio_lock);

static struct hlist_head *mapex_aio_bucket(const struct kiocb *iocb)
{
	return &mapex_aio_table[hash_ptr(iocb, MAPEX_AIO_HASH_BITS)];
}

static struct mapex_aio *mapex_aio_take(struct kiocb *iocb)
{
	struct mapex_aio *a;
	unsigned long flags;

	spin_lock_irqsave(&mapex_aio_lock, flags);
	hlist_for_each_entry(a, mapex_aio_bucket(iocb), node) {
		if (a->iocb == iocb) {
			hlist_del_init(&a->node);
			spin_unlock_irqrestore(&mapex_aio_lock, flags);
			return a;
		}
	}
	spin_unlock_irqrestore(&mapex_aio_lock, flags);
	return NULL;
}

/* Free an async IO context, releasing its range if it holds one. */
static void mapex_aio_free(struct mapex_aio *a)
{
	if (a->hold.state == MAPEX_HOLD_LOCKED)
		mapex_unlock_hold(&a->hold);
	kfree(a);
}

/* The last reference: release the range, the in-flight count, the pin. */
static void mapex_aio_release(struct mapex_aio *a)
{
	mapex_aio_free(a);
	mapex_wrapper_leave();
	module_put(THIS_MODULE);
}

static LLIST_HEAD(mapex_aio_deferred);

static void mapex_aio_release_deferred(struct tasklet_struct *unused)
{
	struct llist_node *list = llist_del_all(&mapex_aio_deferred);
	struct mapex_aio *a, *next;

	llist_for_each_entry_safe(a, next, list, deferred)
		mapex_aio_release(a);
}

static DECLARE_TASKLET(mapex_aio_tasklet, mapex_aio_release_deferred);

/*
 * In hardirq context only the lone-holder release works (no spinlock);
 * true if the range is released or was not held.
 */
static bool mapex_aio_unlock_in_irq(struct mapex_aio *a)
{
	struct mapex_hold *h = &a->hold;

	if (h->state != MAPEX_HOLD_LOCKED)
		return true;
	if (!mapex_range_unlock_lone(&h->range))
		return false;
	mapex_trace_release(h);
	h->state = MAPEX_HOLD_NONE;
	return true;
}

static void mapex_aio_put(struct mapex_aio *a)
{
	if (!refcount_dec_and_test(&a->ref))
		return;
	if ((in_hardirq() || irqs_disabled()) && !mapex_aio_unlock_in_irq(a)) {
		/* the first to queue schedules; the tasklet takes them all */
		if (llist_add(&a->deferred, &mapex_aio_deferred))
			tasklet_schedule(&mapex_aio_tasklet);
		return;
	}
	mapex_aio_release(a);
}

static void mapex_aio_complete(struct kiocb *iocb, long ret)
{
	struct mapex_aio *a = mapex_aio_take(iocb);

	if (WARN_ON_ONCE(!a))
		return;
	iocb->ki_complete = a->ki_complete;
	a->ki_complete(iocb, ret);	/* may free iocb */
	mapex_aio_put(a);
}

static void mapex_rw_range(struct kiocb *iocb, size_t count, bool write,
			   u64 *start, u64 *end)
{
	u64 isize = i_size_read(file_inode(iocb->ki_filp));
	u64 pos = iocb->ki_pos;

	*start = round_down(pos, PAGE_SIZE);
	if (pos + count < pos || pos + count > U64_MAX - PAGE_SIZE)
		*end = U64_MAX;
	else
		*end = round_up(pos + count, PAGE_SIZE);
	if (!write)
		return;
	if (iocb->ki_flags & IOCB_APPEND) {
		/* The position is decided under i_rwsem: lock from EOF on. */
		*start = round_down(isize, PAGE_SIZE);
		*end = U64_MAX;
	} else if (pos + count > isize) {
		/*
		 * Extending: the write zeroes the cached gap from the old EOF
		 * and may drop the cache from there on (xfs delalloc).
		 */
		*start = min(*start, round_down(isize, PAGE_SIZE));
		*end = U64_MAX;
	}
}

/* The mode of a ->read_iter / ->write_iter call (docs/rangelock.md). */
static unsigned int mapex_rw_mode(bool direct, bool write)
{
	if (!direct)
		return MAPEX_MODE_BUFFERED;
	return write ? MAPEX_MODE_DIRECT_WRITE : MAPEX_MODE_DIRECT_READ;
}

static ssize_t mapex_rw_iter(struct mapex_profile *p, struct mapex_hook *hook,
			     struct kiocb *iocb, struct iov_iter *iter,
			     bool write)
{
	mapex_rw_iter_t orig = MAPEX_ORIG(hook, mapex_rw_iter_t);
	struct inode *inode = file_inode(iocb->ki_filp);
	bool direct = iocb->ki_flags & IOCB_DIRECT;
	bool nowait = iocb->ki_flags & IOCB_NOWAIT;
	unsigned int op = write ? MAPEX_OP_WRITE : MAPEX_OP_READ;
	unsigned int mode = mapex_rw_mode(direct, write);
	struct mapex_aio *aio = NULL;
	struct mapex_hold stack_hold, *h = &stack_hold;
	size_t count = iov_iter_count(iter);
	u64 start, end;
	ssize_t ret;
	int got;

	mapex_wrapper_enter();
	if (!count || !S_ISREG(inode->i_mode)) {
		ret = orig(iocb, iter);
		goto out;
	}
	if (!READ_ONCE(p->enabled)) {
		/*
		 * Unguarded, but still known as a holder: the faults its user
		 * copies or GUP take (under i_rwsem) must never wait for a
		 * range, even if mapex is enabled meanwhile.
		 */
		mapex_set_request(h, p, inode, op, mode, 0, 1);
		mapex_hold_register(h);
		WRITE_ONCE(h->state, MAPEX_HOLD_BYPASS);
		ret = orig(iocb, iter);
		mapex_hold_unregister(h);
		goto out;
	}
	if (direct && !is_sync_kiocb(iocb)) {
		aio = kzalloc(sizeof(*aio), nowait ? GFP_NOWAIT : GFP_KERNEL);
		if (!aio) {
			ret = nowait ? -EAGAIN : -ENOMEM;
			goto out;
		}
		h = &aio->hold;
	}
	mapex_rw_range(iocb, count, write, &start, &end);
	for (;;) {
		u64 s2, e2;

		mapex_set_request(h, p, inode, op, mode, start, end);
		got = mapex_acquire(h, nowait);
		if (got <= 0) {
			mapex_hold_unregister(h);
			kfree(aio);
			ret = got ? got : -EAGAIN;
			goto out;
		}
		/* The size may have moved while we waited: still covered? */
		mapex_rw_range(iocb, count, write, &s2, &e2);
		if (s2 >= start && e2 <= end)
			break;
		mapex_release(h);
		start = min(start, s2);
		end = max(end, e2);
	}
	if (!aio) {
		ret = orig(iocb, iter);
		mapex_release(h);
		goto out;
	}

	/* Asynchronous direct IO: the completion releases the range. */
#ifdef IOCB_DIO_CALLER_COMP
	/* Completing in the caller runs the invalidation after ki_complete. */
	iocb->ki_flags &= ~IOCB_DIO_CALLER_COMP;
#endif
	aio->iocb = iocb;
	aio->ki_complete = iocb->ki_complete;
	refcount_set(&aio->ref, 2);
	spin_lock_irq(&mapex_aio_lock);
	hlist_add_head(&aio->node, mapex_aio_bucket(iocb));
	spin_unlock_irq(&mapex_aio_lock);
	iocb->ki_complete = mapex_aio_complete;

	ret = orig(iocb, iter);

	mapex_hold_unregister(h);	/* the task no longer holds it */
	if (ret != -EIOCBQUEUED) {
		/* Completed (or failed) inline: ki_complete was not called. */
		if (mapex_aio_take(iocb))
			iocb->ki_complete = aio->ki_complete;
		mapex_aio_free(aio);
		goto out;
	}
	/* In flight: the wrapper count and a module reference go with it. */
	__module_get(THIS_MODULE);
	mapex_wrapper_enter();
	mapex_aio_put(aio);
out:
	mapex_wrapper_leave();
	return ret;
}

/* ---- faults ------------------------------------------------------------ */

static void mapex_release_fault_lock(struct vm_fault *vmf)
{
#ifdef HAVE_RELEASE_FAULT_LOCK
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

static vm_fault_t mapex_fault(struct mapex_profile *p, struct mapex_hook *hook,
			      struct vm_fault *vmf, unsigned int op)
{
	mapex_fault_t orig = MAPEX_ORIG(hook, mapex_fault_t);
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	u64 start = (u64)vmf->pgoff << PAGE_SHIFT;
	struct mapex_hold h;
	vm_fault_t ret;
	int got;

	mapex_wrapper_enter();
	if (!READ_ONCE(p->enabled)) {
		ret = orig(vmf);
		goto out;
	}
	mapex_set_request(&h, p, inode, op, MAPEX_MODE_FAULT, start,
			  start + PAGE_SIZE);
	/*
	 * Not listed in the hold table: nothing that asks the table runs
	 * inside a fault handler (no hooked entry point, no checkpoint), so
	 * only the nesting test is needed.
	 */
	if (mapex_hold_prepare_unlisted(&h))
		got = mapex_acquire_nested(&h);
	else
		got = mapex_acquire_once(&h);
	if (got == 0) {
		bool may_drop = (vmf->flags & FAULT_FLAG_ALLOW_RETRY) &&
				!(vmf->flags & FAULT_FLAG_RETRY_NOWAIT);

		if (!may_drop && (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
			/* The caller may retry but not sleep: tell it so. */
			mapex_hold_unregister(&h);
			mapex_count(p, MAPEX_CNT_RETRY, MAPEX_MODE_FAULT);
			ret = VM_FAULT_RETRY;
			goto out;
		}
		if (op == MAPEX_OP_MKWRITE) {
			/*
			 * ->page_mkwrite runs with FAULT_FLAG_WRITE|MKWRITE
			 * only, so it cannot drop the fault lock.  Return
			 * VM_FAULT_NOPAGE: the access is repeated, and each
			 * repeat gives mmap_lock up in between.
			 */
			mapex_hold_unregister(&h);
			mapex_count(p, MAPEX_CNT_RETRY, MAPEX_MODE_FAULT);
			cond_resched();
			ret = VM_FAULT_NOPAGE;
			goto out;
		}
		if (!may_drop || !(vmf->flags & FAULT_FLAG_USER)) {
			/*
			 * Sleeping here under mmap_lock could deadlock.  So
			 * could a kernel-mode fault (a user copy or GUP) of a
			 * task not known as a holder: it is inside a system
			 * call mapex did not see, one that started before the
			 * hooks were installed, and may hold i_rwsem, which
			 * the range's holder may be waiting for.
			 */
			mapex_bypass(&h, MAPEX_CNT_UNGUARDED);
			ret = orig(vmf);
			mapex_release(&h);
			goto out;
		}
		/*
		 * Like filemap_fault() waiting for a folio lock: drop the
		 * fault lock, wait for the range, and have the fault retried.
		 */
		get_file(file);
		mapex_release_fault_lock(vmf);
		/* listed while it waits, for the contention callbacks */
		mapex_hold_register(&h);
		WRITE_ONCE(h.state, MAPEX_HOLD_WAITING);
		got = mapex_range_lock_killable(&mapex_table, inode, &h.range,
						h.start, h.end, h.mode);
		mapex_hold_unregister(&h);
		if (!got)
			mapex_range_unlock(&h.range);
		fput(file);
		mapex_count(p, MAPEX_CNT_RETRY, MAPEX_MODE_FAULT);
		ret = VM_FAULT_RETRY;
		goto out;
	}
	ret = orig(vmf);
	mapex_release(&h);
out:
	mapex_wrapper_leave();
	return ret;
}

/* ---- fallocate and truncate -------------------------------------------- */

/*
 * The range a fallocate needs, given the size @isize now; false if it needs
 * none (allocation inside EOF changes no cached data).
 */
static bool mapex_fallocate_range(struct inode *inode, int mode, u64 off,
				  u64 len, u64 isize, u64 *start, u64 *end)
{
	u64 bs = max_t(u64, i_blocksize(inode), PAGE_SIZE);

	*start = round_down(off, PAGE_SIZE);
	*end = off + len > U64_MAX - PAGE_SIZE ? U64_MAX :
					       round_up(off + len, PAGE_SIZE);
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
		/*
		 * A shift moves everything after @off, and xfs also flushes
		 * and drops the block before it to pin the split boundary.
		 */
		*start = round_down(off, bs);
		*start = *start >= bs ? *start - bs : 0;
		*end = U64_MAX;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > isize) {
		/*
		 * A new size goes through setattr: the page at the old EOF
		 * is zeroed and the cache past the new EOF truncated.
		 */
		*start = min(*start, round_down(isize, PAGE_SIZE));
		*end = U64_MAX;
		return true;
	}
	return mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
		       FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE);
}

static long mapex_fallocate(struct mapex_profile *p, struct mapex_hook *hook,
			    struct file *file, int mode, loff_t off, loff_t len)
{
	mapex_fallocate_t orig = MAPEX_ORIG(hook, mapex_fallocate_t);
	struct inode *inode = file_inode(file);
	struct mapex_hold h;
	u64 start, end, s2, e2;
	long ret;
	int got;

	mapex_wrapper_enter();
	if (!READ_ONCE(p->enabled) || off < 0 || len <= 0 ||
	    !mapex_fallocate_range(inode, mode, off, len, i_size_read(inode),
				   &start, &end)) {
		ret = orig(file, mode, off, len);
		goto out;
	}
	for (;;) {
		mapex_set_request(&h, p, inode, MAPEX_OP_FALLOCATE,
				  MAPEX_MODE_INVAL, start, end);
		got = mapex_acquire(&h, false);
		if (got < 0) {
			mapex_hold_unregister(&h);
			ret = got;
			goto out;
		}
		/* A truncate while we waited may have widened what we need. */
		if (!mapex_fallocate_range(inode, mode, off, len,
					   i_size_read(inode), &s2, &e2) ||
		    (s2 >= start && e2 <= end))
			break;
		mapex_release(&h);
		start = min(start, s2);
		end = max(end, e2);
	}
	ret = orig(file, mode, off, len);
	mapex_release(&h);
out:
	mapex_wrapper_leave();
	return ret;
}

static vm_fault_t mapex_filemap_fault_wrap(struct vm_fault *vmf);
static int mapex_do_truncate_wrap(void *idmap, struct dentry *dentry,
				  loff_t length, unsigned int time_attrs,
				  struct file *filp);
static void mapex_checkpoint(struct mapex_hook *hook, struct pt_regs *regs);

/* Hooks in the core kernel, installed while any filesystem is selected. */
static struct mapex_hook mapex_core_hooks[] = {
	MAPEX_HOOK("filemap_fault", mapex_filemap_fault_wrap),
	/* Never address-taken: its ENDBR is sealed on IBT machines. */
	{ .symbol = "do_truncate", .wrapper = mapex_do_truncate_wrap,
	  .optional = true },
	{ .symbol = "truncate_pagecache", .observe = mapex_checkpoint,
	  .id = MAPEX_CP_TRUNCATE_PAGECACHE },
	{ .symbol = "truncate_pagecache_range", .observe = mapex_checkpoint,
	  .id = MAPEX_CP_TRUNCATE_PAGECACHE_RANGE },
	{ .symbol = "__iomap_dio_rw", .observe = mapex_checkpoint,
	  .id = MAPEX_CP_IOMAP_DIO_RW },
};
#define MAPEX_CORE_FILEMAP_FAULT	0
#define MAPEX_CORE_DO_TRUNCATE		1

/*
 * filemap_fault serves ext4, btrfs and many others: find the profile.  A
 * fault on another filesystem still runs (and may sleep) inside this
 * wrapper, so it counts as in flight too: unload must wait for it.
 *
 * A filesystem whose own ->fault is hooked (xfs) calls filemap_fault from
 * inside it, with the FAULT range already held: pass that call through.
 * The hook usually does not see it anyway (a tail call from the original,
 * which mapex called, is not redirected), but a compiler may emit a plain
 * call, and a second, unlisted FAULT request of the same task could wait
 * behind a waiter queued for the first.
 */
static vm_fault_t mapex_filemap_fault_wrap(struct vm_fault *vmf)
{
	struct mapex_hook *hook = &mapex_core_hooks[MAPEX_CORE_FILEMAP_FAULT];
	struct mapex_profile *p = mapex_profile_of(file_inode(vmf->vma->vm_file));
	vm_fault_t ret;

	if (p && !p->hooks[MAPEX_ENTRY_FAULT].symbol)
		return mapex_fault(p, hook, vmf, MAPEX_OP_FAULT);
	mapex_wrapper_enter();
	ret = MAPEX_ORIG(hook, mapex_fault_t)(vmf);
	mapex_wrapper_leave();
	return ret;
}

static int mapex_do_truncate_wrap(void *idmap, struct dentry *dentry,
				  loff_t length, unsigned int time_attrs,
				  struct file *filp)
{
	mapex_truncate_t orig = MAPEX_ORIG(&mapex_core_hooks[MAPEX_CORE_DO_TRUNCATE],
					   mapex_truncate_t);
	struct inode *inode = d_inode(dentry);
	struct mapex_profile *p;
	struct mapex_hold h;
	loff_t from;
	int ret, got;

	mapex_wrapper_enter();
	p = inode ? mapex_profile_of(inode) : NULL;
	if (!p || !READ_ONCE(p->enabled) || length < 0 ||
	    !S_ISREG(inode->i_mode)) {
		ret = orig(idmap, dentry, length, time_attrs, filp);
		goto out;
	}
	from = min_t(loff_t, length, i_size_read(inode));
	mapex_set_request(&h, p, inode, MAPEX_OP_TRUNCATE, MAPEX_MODE_INVAL,
			  round_down((u64)from, PAGE_SIZE), U64_MAX);
	got = mapex_acquire(&h, false);
	if (got < 0) {
		mapex_hold_unregister(&h);
		ret = got;
		goto out;
	}
	ret = orig(idmap, dentry, length, time_attrs, filp);
	mapex_release(&h);
out:
	mapex_wrapper_leave();
	return ret;
}

/* ---- checkpoints ------------------------------------------------------- */

/*
 * Runs in ftrace context at the entry of a function that changes the page
 * cache under i_rwsem or invalidate_lock: count it if the current task
 * does not hold the range the operation needs.  Never sleeps.
 */
static void mapex_checkpoint(struct mapex_hook *hook, struct pt_regs *regs)
{
	unsigned long a0 = regs_get_kernel_argument(regs, 0);
	unsigned long a1 = regs_get_kernel_argument(regs, 1);
	unsigned long a2 = regs_get_kernel_argument(regs, 2);
	/*
	 * Dropping cached pages is guarded by INVAL; by the BUFFERED range of
	 * a write cleaning up its own failed pages past EOF
	 * (iomap_write_failed()); or by the DIRECT_WRITE range of a direct
	 * write past EOF zeroing the gap (xfs_file_write_checks), which
	 * excludes every page-cache user.  A direct write needs DIRECT_WRITE
	 * or INVAL; a direct read any direct mode or INVAL.
	 */
	unsigned int mode = MAPEX_MODE_INVAL;
	unsigned int guards = BIT(MAPEX_MODE_INVAL) | BIT(MAPEX_MODE_BUFFERED) |
			      BIT(MAPEX_MODE_DIRECT_WRITE);
	struct mapex_profile *p;
	struct inode *inode;
	u64 start, end;

	switch (hook->id) {
	case MAPEX_CP_TRUNCATE_PAGECACHE:	/* (inode, newsize) */
		inode = (struct inode *)a0;
		start = round_down((u64)a1, PAGE_SIZE);
		end = U64_MAX;
		break;
	case MAPEX_CP_TRUNCATE_PAGECACHE_RANGE:	/* (inode, lstart, lend) */
		inode = (struct inode *)a0;
		start = round_down((u64)a1, PAGE_SIZE);
		end = (loff_t)a2 < 0 ? U64_MAX : round_up((u64)a2 + 1, PAGE_SIZE);
		break;
	case MAPEX_CP_IOMAP_DIO_RW: {		/* (iocb, iter, ...) */
		struct kiocb *iocb = (struct kiocb *)a0;
		const struct iov_iter *iter = (const struct iov_iter *)a1;
		size_t count = iov_iter_count(iter);

		inode = file_inode(iocb->ki_filp);
		/* a direct write's range covers a read of its own pages */
		mode = mapex_rw_mode(true, iov_iter_rw(iter) == WRITE);
		guards = BIT(mode) | BIT(MAPEX_MODE_DIRECT_WRITE) |
			 BIT(MAPEX_MODE_INVAL);
		start = round_down((u64)iocb->ki_pos, PAGE_SIZE);
		end = round_up((u64)iocb->ki_pos + count, PAGE_SIZE);
		if (!count)
			return;
		break;
	}
	default:
		return;
	}
	p = mapex_profile_of(inode);
	if (!p || !READ_ONCE(p->enabled))
		return;
	if (start >= end || mapex_current_covers(inode, start, end, guards))
		return;
	mapex_count(p, MAPEX_CNT_UNGUARDED, mode);
	trace_mapex_unguarded(MAPEX_DEV(inode), inode->i_ino, start, end, mode,
			      hook->id);
}

/* ---- installation ------------------------------------------------------ */

static int mapex_profile_hook(struct mapex_profile *p)
{
	unsigned int i;
	int err;

	for (i = 0; i < MAPEX_NR_ENTRIES; i++) {
		if (!p->hooks[i].symbol)
			continue;
		err = mapex_hooks_install(&p->hooks[i], 1);
		if (err) {
			pr_err("%s: cannot hook %s, filesystem not guarded\n",
			       p->fstype, p->hooks[i].symbol);
			while (i-- > 0)
				if (p->hooks[i].symbol)
					mapex_hooks_remove(&p->hooks[i], 1);
			return err;
		}
	}
	WRITE_ONCE(p->hooked, true);
	return 0;
}

static void mapex_profile_unhook(struct mapex_profile *p)
{
	unsigned int i;

	if (!p->hooked)
		return;
	WRITE_ONCE(p->hooked, false);
	for (i = MAPEX_NR_ENTRIES; i-- > 0;)
		if (p->hooks[i].symbol)
			mapex_hooks_remove(&p->hooks[i], 1);
}

/* Hook a filesystem when its module comes, unhook it when it goes. */
static int mapex_module_notify(struct notifier_block *nb, unsigned long action,
			       void *data)
{
	struct module *mod = data;
	unsigned int i;

	mutex_lock(&mapex_profiles_mutex);
	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		if (!p->selected || strcmp(mod->name, p->module))
			continue;
		if (action == MODULE_STATE_COMING && !p->hooked) {
			if (!mapex_profile_hook(p))
				pr_info("%s: hooked on module load\n", p->fstype);
		} else if (action == MODULE_STATE_GOING) {
			mapex_profile_unhook(p);
		}
	}
	mutex_unlock(&mapex_profiles_mutex);
	return NOTIFY_OK;
}

static struct notifier_block mapex_module_nb = {
	.notifier_call = mapex_module_notify,
};

/* Parse filesystems= ("ext4,xfs"); an unknown name fails the load. */
static int mapex_select(const char *list)
{
	char *copy, *cur, *name;
	unsigned int i;
	int err = 0;

	if (!list || !*list) {
		for (i = 0; i < mapex_nr_profiles; i++)
			mapex_profiles[i].selected = true;
		return 0;
	}
	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = strim(copy);
	while ((name = strsep(&cur, ",")) != NULL) {
		name = strim(name);
		for (i = 0; i < mapex_nr_profiles; i++)
			if (!strcmp(name, mapex_profiles[i].fstype))
				break;
		if (i == mapex_nr_profiles) {
			pr_err("filesystems=: unknown filesystem '%s' (supported: ext4, xfs, btrfs)\n",
			       name);
			err = -EINVAL;
			break;
		}
		mapex_profiles[i].selected = true;
	}
	kfree(copy);
	if (err)
		for (i = 0; i < mapex_nr_profiles; i++)
			mapex_profiles[i].selected = false;
	return err;
}

int mapex_interpose_init(const char *filesystems)
{
	unsigned int i;
	int err;

	err = mapex_select(filesystems);
	if (err)
		return err;
	mapex_hold_init();
	mapex_default_class.contention_begin = mapex_contention_begin;
	mapex_default_class.contention_end = mapex_contention_end;
	err = mapex_class_init(&mapex_default_class);
	if (err)
		return err;
	err = mapex_table_init(&mapex_table, &mapex_default_class);
	if (err)
		goto out_class;
	err = -ENOMEM;
	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		p->stats = alloc_percpu(struct mapex_fs_stats);
		if (!p->stats)
			goto out_stats;
		p->enabled = p->selected;
	}

	err = mapex_hooks_install(mapex_core_hooks, ARRAY_SIZE(mapex_core_hooks));
	if (err)
		goto out_stats;
	mutex_lock(&mapex_profiles_mutex);
	err = register_module_notifier(&mapex_module_nb);
	for (i = 0; !err && i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		/* Not loaded yet: the notifier hooks it when it comes. */
		if (p->selected &&
		    mapex_symbol_exists(p->hooks[MAPEX_ENTRY_READ_ITER].symbol))
			err = mapex_profile_hook(p);
	}
	if (err) {
		for (i = 0; i < mapex_nr_profiles; i++)
			mapex_profile_unhook(&mapex_profiles[i]);
		mutex_unlock(&mapex_profiles_mutex);
		unregister_module_notifier(&mapex_module_nb);
		mapex_hooks_remove(mapex_core_hooks, ARRAY_SIZE(mapex_core_hooks));
		mapex_hooks_drain();
		goto out_stats;
	}
	mutex_unlock(&mapex_profiles_mutex);
	return 0;

out_stats:
	for (i = 0; i < mapex_nr_profiles; i++) {
		free_percpu(mapex_profiles[i].stats);
		mapex_profiles[i].stats = NULL;
	}
	mapex_table_destroy(&mapex_table);
out_class:
	mapex_class_exit(&mapex_default_class);
	return err;
}

void mapex_interpose_exit(void)
{
	unsigned int i;

	unregister_module_notifier(&mapex_module_nb);
	mutex_lock(&mapex_profiles_mutex);
	for (i = 0; i < mapex_nr_profiles; i++)
		mapex_profile_unhook(&mapex_profiles[i]);
	mutex_unlock(&mapex_profiles_mutex);
	mapex_hooks_remove(mapex_core_hooks, ARRAY_SIZE(mapex_core_hooks));
	/* Sleeping wrappers and in-flight async IO finish before teardown. */
	mapex_hooks_drain();
	/* the drain saw the last deferred release leave; now its tail */
	tasklet_kill(&mapex_aio_tasklet);
	mapex_table_destroy(&mapex_table);
	mapex_class_exit(&mapex_default_class);
	for (i = 0; i < mapex_nr_profiles; i++)
		free_percpu(mapex_profiles[i].stats);
}
