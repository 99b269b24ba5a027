// SPDX-License-Identifier: GPL-2.0
/*
 * module/aio.c - asynchronous direct IO keeps its range from submission
 * until its completion: the table of in-flight contexts (by iocb), the
 * wrapped ki_complete, and the tasklet that takes releases arriving in
 * hardirq context.
 *
 * ki_complete is wrapped and the range is released right after the
 * original completion has run.  In task or softirq context that is done at
 * once.  A completion in hardirq context (a read's bio end_io) releases at
 * once only if its range is the lone holder of its bucket (no spinlock
 * needed); otherwise it cannot take the softirq-safe bucket lock and hands
 * the release to a tasklet, which runs as the interrupt returns.  What the
 * release trace event needs (dev, ino) is copied at submission, so nothing
 * dereferences the inode after ki_complete may have dropped the file.  A
 * direct read whose buffer maps guarded files holds a set of ranges
 * (module/buffer.c), released the same way; the set keeps those files.
 * The context pins the module until it is released.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/interrupt.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "interpose.h"
#include "rangelock.h"
#include "trace.h"

typedef ssize_t (*mapex_rw_iter_t)(struct kiocb *, struct iov_iter *);

struct mapex_aio {
	struct mapex_hold	hold;	/* the IO's range, unless @set */
	struct mapex_rw_set	*set;	/* a direct read and its buffer's files */
	void			(*ki_complete)(struct kiocb *iocb, long ret);
	struct kiocb		*iocb;
	u32			dev;	/* for the release event */
	u64			ino;
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

/* Release one range; the call's own inode may be gone: copied identity. */
static void mapex_aio_unlock(struct mapex_aio *a, struct mapex_hold *h,
			     bool own, bool lone)
{
	if (lone) {
		if (!mapex_range_unlock_lone(&h->range))
			return;
	} else {
		mapex_range_unlock(&h->range);
	}
	h->state = MAPEX_HOLD_NONE;
	if (trace_mapex_release_enabled())
		mapex_trace_release(h, own ? a->dev : MAPEX_DEV(h->inode),
				    own ? a->ino : h->inode->i_ino);
}

/*
 * Release every range @a holds; with @lone (hardirq context) only those
 * that are the lone holder of their bucket.  True if none is left held.
 */
static bool mapex_aio_unlock_all(struct mapex_aio *a, bool lone)
{
	bool done = true;
	unsigned int i;

	if (!a->set) {
		if (a->hold.state == MAPEX_HOLD_LOCKED)
			mapex_aio_unlock(a, &a->hold, true, lone);
		return a->hold.state != MAPEX_HOLD_LOCKED;
	}
	for (i = 0; i < a->set->nr; i++) {
		struct mapex_hold *h = &a->set->h[i];

		if (h->state != MAPEX_HOLD_LOCKED)
			continue;
		mapex_aio_unlock(a, h, !a->set->file[i], lone);
		done &= h->state != MAPEX_HOLD_LOCKED;
	}
	return done;
}

/* The submitter gives what @a holds to the completion (lockdep). */
static void mapex_aio_handover(struct mapex_aio *a)
{
	unsigned int i;

	if (!a->set) {
		if (a->hold.state == MAPEX_HOLD_LOCKED)
			mapex_range_handover(&a->hold.range);
		return;
	}
	for (i = 0; i < a->set->nr; i++)
		if (a->set->h[i].state == MAPEX_HOLD_LOCKED)
			mapex_range_handover(&a->set->h[i].range);
}

/* Free an async IO context, releasing what it holds. */
static void mapex_aio_free(struct mapex_aio *a)
{
	mapex_aio_unlock_all(a, false);
	if (a->set)
		mapex_set_free(a->set);	/* fput is safe in any context */
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

static void mapex_aio_put(struct mapex_aio *a)
{
	if (!refcount_dec_and_test(&a->ref))
		return;
	/* in hardirq context only the lone-holder release works (no spinlock) */
	if ((in_hardirq() || irqs_disabled()) && !mapex_aio_unlock_all(a, true)) {
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
	a->ki_complete(iocb, ret);	/* may free iocb and drop the file */
	mapex_aio_put(a);
}

/*
 * One asynchronous direct IO attempt for the request @req (profile, inode,
 * op and mode set): its range goes with the IO until completion.  A
 * refusal noted during submission is handed back in @req.
 */
ssize_t mapex_rw_async(struct mapex_hook *hook, struct kiocb *iocb,
		       struct iov_iter *iter, struct mapex_hold *req,
		       bool nowait)
{
	struct mapex_aio *aio;
	ssize_t ret;
	int got;

	aio = kzalloc(sizeof(*aio), nowait ? GFP_NOWAIT : GFP_KERNEL);
	if (!aio)
		return nowait ? -EAGAIN : -ENOMEM;
	aio->hold = *req;
	aio->dev = MAPEX_DEV(req->inode);
	aio->ino = req->inode->i_ino;
	aio->set = mapex_rw_prepare(&aio->hold, iocb, iter, nowait, false);
	if (IS_ERR(aio->set)) {
		ret = PTR_ERR(aio->set);
		kfree(aio);
		return ret;
	}
	if (aio->set) {
		got = mapex_rw_set_acquire(aio->set, &aio->hold, iocb,
					   iov_iter_count(iter), nowait);
		if (got <= 0)
			mapex_set_free(aio->set);
	} else {
		got = mapex_rw_lock(&aio->hold, iocb, iov_iter_count(iter),
				    req->op == MAPEX_OP_WRITE, nowait);
		if (got <= 0)
			mapex_hold_unregister(&aio->hold);
	}
	if (got <= 0) {
		kfree(aio);
		return got ? got : -EAGAIN;
	}
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

	ret = MAPEX_ORIG(hook, mapex_rw_iter_t)(iocb, iter);

	/* the task no longer holds them; a refusal goes back to the caller */
	if (aio->set) {
		mapex_set_disown(aio->set, req);
	} else {
		mapex_hold_unregister(&aio->hold);
		req->refused = aio->hold.refused;
		req->refused_file = aio->hold.refused_file;
		req->refused_start = aio->hold.refused_start;
		req->refused_end = aio->hold.refused_end;
		aio->hold.refused_file = NULL;
	}
	if (ret != -EIOCBQUEUED) {
		/* Completed (or failed) inline: ki_complete was not called. */
		if (mapex_aio_take(iocb))
			iocb->ki_complete = aio->ki_complete;
		mapex_aio_free(aio);
		return ret;
	}
	/*
	 * In flight: the ranges, the wrapper count and a module reference go
	 * with it.  lockdep no longer sees the ranges as this task's.
	 */
	mapex_aio_handover(aio);
	__module_get(THIS_MODULE);
	mapex_wrapper_enter();
	mapex_aio_put(aio);
	return ret;
}

/* After the hooks' drain saw the last deferred release leave: its tail. */
void mapex_aio_exit(void)
{
	tasklet_kill(&mapex_aio_tasklet);
}
