// SPDX-License-Identifier: GPL-2.0
/*
 * module/rangelock.c - the mapex multi-mode range lock: lock classes, the
 * tables of bucket locks, and the grant/wait/unlock algorithm.
 *
 * The same file is compiled into mapex.ko and, against a userspace shim,
 * into the unit tests and the benchmark (tests/unit, tests/bench/rangelock).
 * Semantics and the fairness argument: docs/rangelock.md.
 *
 * Lock ordering: where the range lock itself sits among the kernel's locks
 * is listed once, in module/request.c.  This file's own locks:
 *
 *   mapex_rl_bucket.lock (softirq-safe spinlock, private to this file)
 *     -> p->pi_lock, rq->lock     (wake_up_process, as any wait queue)
 *
 * The bucket spinlock is otherwise a leaf: nothing sleeps, allocates or
 * calls an instrumentation callback while holding it, and no code path
 * holds two bucket locks.  It is softirq-safe (taken with BHs disabled)
 * because an unlock may come from softirq context (the completion of an
 * asynchronous direct IO, or the tasklet that completions arriving in
 * hardirq context hand their unlock to).  It is not irq-safe: masking
 * interrupts on every lock and unlock costs more than the rare hand-off,
 * so mapex_range_unlock() must not be called with interrupts disabled.
 * The bucket's lone-holder word is changed from or to CLOSED only under
 * the bucket spinlock; from NULL to a range and back by that range's
 * owner alone, with one atomic operation.  Two range locks of one task
 * (two-inode operations) are taken in inode address order.
 *
 * Algorithm: a table is a fixed array of buckets, chosen by hashing the
 * object (inode) pointer.  Each bucket keeps one interval tree (rbtree
 * keyed by (object, start), augmented with the subtree's largest
 * (object, last byte)) holding the granted and waiting requests of every
 * object that hashes there; ranges of different objects never overlap in
 * that key space.  A request counts, when it is inserted, the entries
 * already in the tree that overlap it with an incompatible mode (its
 * "blocking" count); it is granted when that count is zero.  Removing an
 * entry decrements the count of the overlapping incompatible entries that
 * counted it and grants those that reach zero.  Every lock and unlock is
 * O(log n + k), n entries in the bucket's tree, k of them overlapping.
 *
 * The uncontended case takes no spinlock: a request on an empty bucket
 * becomes its lone holder with one cmpxchg (NULL -> request) and leaves
 * with another (request -> NULL).  Any other request closes that path
 * under the spinlock (lone -> CLOSED), moving the lone holder into the
 * tree first, so the tree is then complete; the last entry to leave the
 * tree reopens it (CLOSED -> NULL).  The path is open only while the
 * bucket has no holder and no waiter, so it never overtakes a waiter.
 *
 * An object's lock is the run of its entries in one bucket: it exists
 * while the object has holders or waiters and costs nothing when idle.
 * Nothing is allocated after mapex_table_init(), so a lock never fails
 * for lack of memory and the buckets need no RCU.
 */
#include <linux/bug.h>
#include <linux/cache.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/hash.h>
#include <linux/interval_tree_generic.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/rbtree.h>
#include <linux/rbtree_augmented.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "rangelock.h"

/* mapex_range.state; odd values so that a stray handle rarely matches */
enum {
	MAPEX_RS_WAITING	= 0x5a,
	MAPEX_RS_GRANTED	= 0xa5,
	MAPEX_RS_RELEASED	= 0x3c,
};

/*
 * One bucket of a table: the locks of every object (inode) that hashes
 * here.  The tree holds the granted and waiting requests of those objects,
 * ordered by (key, start), so each object's requests form one contiguous
 * run and requests of different objects never overlap.
 */
struct mapex_rl_bucket {
	/*
	 * The lone holder, taken and released with one atomic operation and
	 * no spinlock while the bucket has no other entry: NULL when the
	 * bucket is empty (open), a granted range that is not in the tree, or
	 * MAPEX_LONE_CLOSED while the tree is in use.  Only a task holding
	 * @lock moves it from or to CLOSED.
	 */
	struct mapex_range	*lone;
	spinlock_t		lock;
	u32			nr_waiting;	/* requests not yet granted */
	u64			seq;		/* next arrival number */
	struct rb_root_cached	root;		/* granted and waiting requests */
	struct mapex_lock_class	*cls;
} ____cacheline_aligned_in_smp;

/* A position in the (key, byte) space of a bucket's tree. */
#define MAPEX_IT_POS(key, byte) \
	(((mapex_itpos_t)(unsigned long)(key) << 64) | (byte))
#define MAPEX_IT_START(r)	MAPEX_IT_POS((r)->key, (r)->start)
#define MAPEX_IT_LAST(r)	MAPEX_IT_POS((r)->key, (r)->last)

INTERVAL_TREE_DEFINE(struct mapex_range, rb, mapex_itpos_t, subtree_last,
		     MAPEX_IT_START, MAPEX_IT_LAST, static, mapex_it)

#define MAPEX_LONE_CLOSED	((struct mapex_range *)1UL)

/*
 * Take the bucket lock and close the lone-holder path: a lone holder, if
 * there is one, moves into the tree, where every request made under the
 * lock sees it.  Its fields were published by the cmpxchg that made it
 * the lone holder.
 */
static void mapex_bucket_lock(struct mapex_rl_bucket *b)
	__acquires(&b->lock)
{
	struct mapex_range *lone;

	spin_lock_bh(&b->lock);
	/* CLOSED changes only under the lock: no atomic needed to see it */
	if (READ_ONCE(b->lone) == MAPEX_LONE_CLOSED)
		return;
	lone = xchg(&b->lone, MAPEX_LONE_CLOSED);
	if (lone)
		mapex_it_insert(lone, &b->root);
}

/* Reopen the lone-holder path if the tree is empty, and unlock. */
static void mapex_bucket_unlock(struct mapex_rl_bucket *b)
	__releases(&b->lock)
{
	if (RB_EMPTY_ROOT(&b->root.rb_root))
		smp_store_release(&b->lone, NULL);
	spin_unlock_bh(&b->lock);
}

#define mapex_for_each_overlap(it, b, r)				\
	for ((it) = mapex_it_iter_first(&(b)->root, MAPEX_IT_START(r),	\
					MAPEX_IT_LAST(r));		\
	     (it); (it) = mapex_it_iter_next((it), MAPEX_IT_START(r),	\
					     MAPEX_IT_LAST(r)))

static const char *const mapex_mode_names[] = MAPEX_MODE_NAMES;

#define MAPEX_M(m)	(1U << (m))

struct mapex_lock_class mapex_default_class = {
	.name		= "mapex_range",
	.nr_modes	= MAPEX_NR_MODES,
	.compat		= {
		/*
		 * Page-cache users share: folio locks order them.  A direct
		 * read shares with everyone but INVAL: it writes dirty pages
		 * back and reads the disk, and leaves no page behind that
		 * could go stale.  A direct write invalidates the pages it
		 * overwrote, which fails on a page dirtied meanwhile, so it
		 * excludes page-cache users; the filesystem orders
		 * overlapping direct IO.
		 */
		[MAPEX_MODE_FAULT]	= MAPEX_M(MAPEX_MODE_FAULT) |
					  MAPEX_M(MAPEX_MODE_BUFFERED) |
					  MAPEX_M(MAPEX_MODE_DIRECT_READ),
		[MAPEX_MODE_BUFFERED]	= MAPEX_M(MAPEX_MODE_FAULT) |
					  MAPEX_M(MAPEX_MODE_BUFFERED) |
					  MAPEX_M(MAPEX_MODE_DIRECT_READ),
		[MAPEX_MODE_DIRECT_READ] = MAPEX_M(MAPEX_MODE_FAULT) |
					  MAPEX_M(MAPEX_MODE_BUFFERED) |
					  MAPEX_M(MAPEX_MODE_DIRECT_READ) |
					  MAPEX_M(MAPEX_MODE_DIRECT_WRITE),
		[MAPEX_MODE_DIRECT_WRITE] = MAPEX_M(MAPEX_MODE_DIRECT_READ) |
					  MAPEX_M(MAPEX_MODE_DIRECT_WRITE),
		/* truncate, punch, ...: excludes everything */
		[MAPEX_MODE_INVAL]	= 0,
	},
	.mode_names	= mapex_mode_names,
	.excl_modes	= MAPEX_M(MAPEX_MODE_DIRECT_WRITE) | MAPEX_M(MAPEX_MODE_INVAL),
};

static inline bool mapex_compatible(const struct mapex_lock_class *cls,
				    unsigned int a, unsigned int b)
{
	return cls->compat[a] & MAPEX_M(b);
}

/*
 * lockdep annotation of a grant: exclusive for the class's excl_modes,
 * shared otherwise, in lockdep subclass @subclass (a set's position: the
 * ranges of a set are taken in one order, like inode_lock_nested()).  A
 * nested trylock (a request of a task that holds ranges, granted only if
 * it fits) is a recursive shared acquisition: it never waits, so it adds
 * no dependency.  lockdep has MAX_LOCKDEP_SUBCLASSES subclasses: a set's
 * ranges past the last are annotated as trylocks in it, so lockdep checks
 * the order of a set's first ranges only (the rest follow the same rule).
 */
static __always_inline void mapex_dep_acquire(struct mapex_lock_class *cls,
					      unsigned int mode,
					      unsigned int subclass,
					      int trylock, bool nested,
					      unsigned long ip)
{
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	if (subclass >= MAX_LOCKDEP_SUBCLASSES) {
		subclass = MAX_LOCKDEP_SUBCLASSES - 1;
		trylock = 1;
	}
#endif
	if (nested)
		lock_acquire_shared_recursive(&cls->dep_map, 0, trylock, NULL, ip);
	else if (cls->excl_modes & MAPEX_M(mode))
		lock_acquire_exclusive(&cls->dep_map, subclass, trylock, NULL, ip);
	else
		lock_acquire_shared(&cls->dep_map, subclass, trylock, NULL, ip);
}

/* The owner's lockdep release, unless the range was handed over. */
static __always_inline void mapex_dep_release(struct mapex_lock_class *cls,
					      struct mapex_range *r,
					      unsigned long ip)
{
	if (!r->handed_over)
		lock_release(&cls->dep_map, ip);
}

/* ---- lock classes ---- */

int mapex_class_init(struct mapex_lock_class *cls)
{
	unsigned int i, j, n = cls->nr_modes;

	if (n == 0 || n > MAPEX_MAX_MODES) {
		pr_err("mapex: class %s: %u modes (1..%u)\n", cls->name, n,
		       MAPEX_MAX_MODES);
		return -EINVAL;
	}
	for (i = 0; i < MAPEX_MAX_MODES; i++) {
		if (i >= n ? cls->compat[i] != 0 : cls->compat[i] >> n) {
			pr_err("mapex: class %s: compat[%u] names a mode >= %u\n",
			       cls->name, i, n);
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (mapex_compatible(cls, i, j) !=
			    mapex_compatible(cls, j, i)) {
				pr_err("mapex: class %s: compat[%u][%u] != compat[%u][%u]\n",
				       cls->name, i, j, j, i);
				return -EINVAL;
			}
		}
	}
	if (cls->pcpu)
		return -EBUSY;
	cls->pcpu = alloc_percpu(struct mapex_class_pcpu);
	if (!cls->pcpu)
		return -ENOMEM;
	lockdep_init_map(&cls->dep_map, cls->name, &cls->lock_key, 0);
	return 0;
}

void mapex_class_exit(struct mapex_lock_class *cls)
{
	free_percpu(cls->pcpu);
	cls->pcpu = NULL;
}

void mapex_class_read_stats(const struct mapex_lock_class *cls,
			    unsigned int mode, struct mapex_mode_stats *st)
{
	int cpu;

	memset(st, 0, sizeof(*st));
	if (mode >= cls->nr_modes || !cls->pcpu)
		return;
	for_each_possible_cpu(cpu) {
		const struct mapex_class_pcpu *p = per_cpu_ptr(cls->pcpu, cpu);

		st->acquired += READ_ONCE(p->acquired[mode]);
		st->contended += READ_ONCE(p->contended[mode]);
		st->wait_ns += READ_ONCE(p->wait_ns[mode]);
	}
}

/* ---- tables of bucket locks ---- */

/*
 * Size the table by CPUs: more buckets than CPUs can contend for, so two
 * busy inodes rarely share a bucket spinlock, and a bounded footprint.
 */
#define MAPEX_BUCKETS_PER_CPU	64
#define MAPEX_MIN_BUCKETS	256
#define MAPEX_MAX_BUCKETS	16384

int mapex_table_init(struct mapex_lock_table *t, struct mapex_lock_class *cls)
{
	unsigned long n = roundup_pow_of_two(nr_cpu_ids * MAPEX_BUCKETS_PER_CPU);
	unsigned long i;

	if (WARN_ON(!cls->pcpu))	/* mapex_class_init() not called */
		return -EINVAL;
	n = clamp(n, MAPEX_MIN_BUCKETS, MAPEX_MAX_BUCKETS);
	t->buckets = kvcalloc(n, sizeof(*t->buckets), GFP_KERNEL);
	if (!t->buckets)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		spin_lock_init(&t->buckets[i].lock);
		t->buckets[i].root = RB_ROOT_CACHED;
		t->buckets[i].cls = cls;
	}
	t->hash_bits = ilog2(n);
	t->cls = cls;
	return 0;
}

/* Keys (objects) with at least one holder or waiter: a diagnostic walk. */
unsigned long mapex_table_busy_keys(struct mapex_lock_table *t)
{
	unsigned long i, n = 0;

	for (i = 0; i < (1UL << t->hash_bits); i++) {
		struct mapex_rl_bucket *b = &t->buckets[i];
		const struct mapex_range *r, *prev = NULL;	/* tree entries */
		struct rb_node *node;

		spin_lock_bh(&b->lock);
		r = READ_ONCE(b->lone);
		if (r && r != MAPEX_LONE_CLOSED)
			n++;
		/* in-order: each key's ranges are consecutive */
		for (node = rb_first_cached(&b->root); node;
		     node = rb_next(node), prev = r) {
			r = rb_entry(node, struct mapex_range, rb);
			if (!prev || r->key != prev->key)
				n++;
		}
		spin_unlock_bh(&b->lock);
	}
	return n;
}

void mapex_table_destroy(struct mapex_lock_table *t)
{
	unsigned long busy = mapex_table_busy_keys(t);

	WARN(busy, "mapex: table destroyed with %lu busy objects\n", busy);
	kvfree(t->buckets);
	t->buckets = NULL;
}

static inline struct mapex_rl_bucket *
mapex_bucket(const struct mapex_lock_table *t, const void *key)
{
	return &t->buckets[hash_ptr(key, t->hash_bits)];
}

/* ---- grant, wait and release ---- */

static __always_inline int mapex_range_prepare(struct mapex_lock_table *t,
						const void *key,
						struct mapex_range *r,
						u64 start, u64 end,
						unsigned int mode)
{
	if (WARN(start >= end || mode >= t->cls->nr_modes,
		 "mapex: bad range request [%llu, %llu) mode %u\n",
		 start, end, mode))
		return -EINVAL;
	r->start = start;
	r->last = end - 1;
	r->key = key;
	r->mode = mode;
	r->pid = task_pid_nr(current);
	r->task = NULL;
	r->blocking = 0;
	r->handed_over = false;
	return 0;
}

/*
 * The uncontended fast path: grant @r as the lone holder of an empty
 * bucket, with no spinlock.  The cmpxchg is fully ordered, so @r's fields
 * are visible to whoever closes the path and moves @r into the tree.  A
 * bucket is open only while it has no holder and no waiter, so this never
 * overtakes anyone.
 */
static __always_inline bool mapex_lone_trylock(struct mapex_rl_bucket *b,
					       struct mapex_range *r)
{
	r->bucket = b;
	r->state = MAPEX_RS_GRANTED;
	/* a busy bucket is seen without a failing atomic */
	return !READ_ONCE(b->lone) && cmpxchg(&b->lone, NULL, r) == NULL;
}

/* Queue or grant @r in the tree (bucket locked). */
static void mapex_insert_locked(struct mapex_rl_bucket *b,
				struct mapex_range *r, u8 state)
{
	r->bucket = b;
	r->seq = b->seq++;
	r->state = state;
	mapex_it_insert(r, &b->root);
}

/* Called with the bucket lock held; w is granted and owned by its caller. */
static void mapex_grant_locked(struct mapex_rl_bucket *b, struct mapex_range *w)
{
	struct task_struct *tsk = w->task;

	/* the waiter may return, unlock and exit as soon as it sees NULL */
	get_task_struct(tsk);
	b->nr_waiting--;
	w->state = MAPEX_RS_GRANTED;
	smp_store_release(&w->task, NULL);
	wake_up_process(tsk);
	put_task_struct(tsk);
}

/*
 * Take @r out of its bucket's tree and release the entries that counted it:
 * every overlapping incompatible waiter if @r was granted, the later ones
 * if @r was itself waiting (a waiter counted only what was there before).
 */
static noinline void mapex_remove_locked(struct mapex_rl_bucket *b,
					 struct mapex_range *r)
{
	bool granted = r->state == MAPEX_RS_GRANTED;
	struct mapex_range *it;

	mapex_it_remove(r, &b->root);
	if (!granted)
		b->nr_waiting--;
	/* nobody waits, so nobody counted r */
	if (!b->nr_waiting)
		goto out;
	mapex_for_each_overlap(it, b, r) {
		if (mapex_compatible(b->cls, r->mode, it->mode))
			continue;
		if (it->state != MAPEX_RS_WAITING) {
			/* two incompatible overlapping grants */
			WARN_ON_ONCE(granted);
			continue;
		}
		if (!granted && it->seq < r->seq)
			continue;
		if (WARN_ON_ONCE(!it->blocking))
			continue;
		if (--it->blocking == 0)
			mapex_grant_locked(b, it);
	}
out:
	r->state = MAPEX_RS_RELEASED;
}

/*
 * A fatal signal (@err -EINTR) or the timeout (-ETIMEDOUT) while waiting:
 * undo, unless the grant won the race (0).
 */
static int mapex_range_cancel(struct mapex_range *r, int err)
{
	struct mapex_rl_bucket *b = r->bucket;

	mapex_bucket_lock(b);
	if (!READ_ONCE(r->task)) {
		mapex_bucket_unlock(b);
		return 0;
	}
	r->task = NULL;
	mapex_remove_locked(b, r);
	mapex_bucket_unlock(b);
	return err;
}

static int mapex_range_wait(struct mapex_lock_class *cls,
			    struct mapex_range *r, unsigned int state,
			    long timeout, unsigned int holder_mode,
			    pid_t holder_pid)
{
	u64 t0 = ktime_get_ns(), waited;
	int ret = 0;

	lock_contended(&cls->dep_map, _RET_IP_);
	if (cls->contention_begin)
		cls->contention_begin(r, holder_mode, holder_pid);
	for (;;) {
		/* pairs with the release store of r->task in the grant */
		set_current_state(state);
		if (!smp_load_acquire(&r->task))
			break;
		if (state == TASK_KILLABLE && fatal_signal_pending(current)) {
			ret = mapex_range_cancel(r, -EINTR);
			break;
		}
		if (timeout == MAX_SCHEDULE_TIMEOUT) {
			schedule();
		} else if (timeout) {
			timeout = schedule_timeout(timeout);
		} else {
			ret = mapex_range_cancel(r, -ETIMEDOUT);
			break;
		}
	}
	__set_current_state(TASK_RUNNING);
	waited = ktime_get_ns() - t0;

	if (!ret) {
		lock_acquired(&cls->dep_map, _RET_IP_);
		this_cpu_inc(cls->pcpu->acquired[r->mode]);
	} else {
		mapex_dep_release(cls, r, _RET_IP_);
	}
	this_cpu_inc(cls->pcpu->contended[r->mode]);
	this_cpu_add(cls->pcpu->wait_ns[r->mode], waited);
	if (cls->contention_end)
		cls->contention_end(r, holder_mode, waited, ret);
	return ret;
}

/*
 * A lock request in a bucket that has a holder or waiter: count the
 * overlapping incompatible entries; none: granted, else queued and waited
 * for.
 */
static noinline int mapex_range_lock_busy(struct mapex_lock_class *cls,
					  struct mapex_rl_bucket *b,
					  struct mapex_range *r,
					  unsigned int state, long timeout,
					  unsigned int subclass)
{
	/* a bounded wait cannot deadlock: lockdep records no dependency */
	int timed = timeout != MAX_SCHEDULE_TIMEOUT;
	struct mapex_range *it, *blocker = NULL;
	unsigned int holder_mode = MAPEX_MODE_NONE;
	pid_t holder_pid;
	u32 blocking = 0;

	mapex_bucket_lock(b);
	mapex_for_each_overlap(it, b, r) {
		if (mapex_compatible(cls, r->mode, it->mode))
			continue;
		blocking++;
		if (!blocker || (blocker->state != MAPEX_RS_GRANTED &&
				 it->state == MAPEX_RS_GRANTED))
			blocker = it;
	}
	/*
	 * lockdep hears of the acquisition only after the bucket lock is
	 * dropped: the bucket lock is a leaf that checkpoints take under
	 * invalidate_lock, and the range is never waited for under it.
	 */
	if (!blocking) {
		mapex_insert_locked(b, r, MAPEX_RS_GRANTED);
		mapex_bucket_unlock(b);
		mapex_dep_acquire(cls, r->mode, subclass, timed, false,
				  _RET_IP_);
		this_cpu_inc(cls->pcpu->acquired[r->mode]);
		return 0;
	}

	if (blocker->state == MAPEX_RS_GRANTED)
		holder_mode = blocker->mode;
	holder_pid = blocker->pid;
	r->blocking = blocking;
	r->task = current;
	b->nr_waiting++;
	mapex_insert_locked(b, r, MAPEX_RS_WAITING);
	mapex_bucket_unlock(b);

	mapex_dep_acquire(cls, r->mode, subclass, timed, false, _RET_IP_);
	return mapex_range_wait(cls, r, state, timeout, holder_mode,
				holder_pid);
}

static __always_inline int __mapex_range_lock(struct mapex_lock_table *t,
					      const void *key,
					      struct mapex_range *r,
					      u64 start, u64 end,
					      unsigned int mode,
					      unsigned int state, long timeout,
					      unsigned int subclass)
{
	struct mapex_lock_class *cls = t->cls;
	struct mapex_rl_bucket *b;
	int ret;

	might_sleep();
	ret = mapex_range_prepare(t, key, r, start, end, mode);
	if (ret)
		return ret;
	b = mapex_bucket(t, key);
	if (unlikely(!mapex_lone_trylock(b, r)))
		return mapex_range_lock_busy(cls, b, r, state, timeout,
					     subclass);
	mapex_dep_acquire(cls, mode, subclass, timeout != MAX_SCHEDULE_TIMEOUT,
			  false, _RET_IP_);
	this_cpu_inc(cls->pcpu->acquired[mode]);
	return 0;
}

int mapex_range_lock(struct mapex_lock_table *t, const void *key,
		     struct mapex_range *r, u64 start, u64 end,
		     unsigned int mode)
{
	return __mapex_range_lock(t, key, r, start, end, mode,
				  TASK_UNINTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT, 0);
}

int mapex_range_lock_killable(struct mapex_lock_table *t, const void *key,
			      struct mapex_range *r, u64 start, u64 end,
			      unsigned int mode)
{
	return __mapex_range_lock(t, key, r, start, end, mode, TASK_KILLABLE,
				  MAX_SCHEDULE_TIMEOUT, 0);
}

int mapex_range_lock_timeout(struct mapex_lock_table *t, const void *key,
			     struct mapex_range *r, u64 start, u64 end,
			     unsigned int mode, long timeout)
{
	return __mapex_range_lock(t, key, r, start, end, mode, TASK_KILLABLE,
				  timeout, 0);
}

int mapex_range_lock_killable_nested(struct mapex_lock_table *t,
				     const void *key, struct mapex_range *r,
				     u64 start, u64 end, unsigned int mode,
				     unsigned int subclass)
{
	return __mapex_range_lock(t, key, r, start, end, mode, TASK_KILLABLE,
				  MAX_SCHEDULE_TIMEOUT, subclass);
}

/*
 * A trylock in a bucket that has a holder or waiter (bucket locked): grant @r
 * if nothing incompatible overlaps it, else leave it out.  A nested request
 * ignores waiters, since it must not queue behind them, but they now wait
 * for it as for any earlier holder.
 */
static noinline bool mapex_trylock_busy_locked(struct mapex_lock_class *cls,
					       struct mapex_rl_bucket *b,
					       struct mapex_range *r,
					       bool nested)
{
	struct mapex_range *it;

	mapex_for_each_overlap(it, b, r) {
		if (mapex_compatible(cls, r->mode, it->mode))
			continue;
		if (!nested || it->state == MAPEX_RS_GRANTED)
			return false;
	}
	if (nested && b->nr_waiting) {
		mapex_for_each_overlap(it, b, r) {
			if (!mapex_compatible(cls, r->mode, it->mode))
				it->blocking++;
		}
	}
	mapex_insert_locked(b, r, MAPEX_RS_GRANTED);
	return true;
}

static __always_inline int __mapex_range_trylock(struct mapex_lock_table *t,
						 const void *key,
						 struct mapex_range *r,
						 u64 start, u64 end,
						 unsigned int mode,
						 bool nested)
{
	struct mapex_lock_class *cls = t->cls;
	struct mapex_rl_bucket *b;
	int ret;

	ret = mapex_range_prepare(t, key, r, start, end, mode);
	if (ret)
		return ret;
	b = mapex_bucket(t, key);
	if (unlikely(!mapex_lone_trylock(b, r))) {
		bool granted;

		mapex_bucket_lock(b);
		granted = mapex_trylock_busy_locked(cls, b, r, nested);
		mapex_bucket_unlock(b);
		if (!granted) {
			r->state = MAPEX_RS_RELEASED;	/* not held */
			return 0;
		}
	}

	mapex_dep_acquire(cls, mode, 0, 1, nested, _RET_IP_);
	this_cpu_inc(cls->pcpu->acquired[mode]);
	return 1;
}

int mapex_range_trylock(struct mapex_lock_table *t, const void *key,
			struct mapex_range *r, u64 start, u64 end,
			unsigned int mode)
{
	return __mapex_range_trylock(t, key, r, start, end, mode, false);
}

int mapex_range_trylock_nested(struct mapex_lock_table *t, const void *key,
			       struct mapex_range *r, u64 start, u64 end,
			       unsigned int mode)
{
	return __mapex_range_trylock(t, key, r, start, end, mode, true);
}

int mapex_range_held_by_other(struct mapex_lock_table *t, const void *key,
			      u64 start, u64 end, unsigned int modes,
			      pid_t pid)
{
	struct mapex_rl_bucket *b = mapex_bucket(t, key);
	struct mapex_range q, *it;
	int found = -1;

	/*
	 * An open bucket without a lone holder has no entry at all.  Pairs
	 * with the release of mapex_bucket_unlock() reopening the path and
	 * with the cmpxchg of mapex_lone_trylock(); a request racing with
	 * this look is a race any checkpoint has.
	 */
	if (start >= end || !smp_load_acquire(&b->lone))
		return -1;
	q.key = key;
	q.start = start;
	q.last = end - 1;
	mapex_bucket_lock(b);
	mapex_for_each_overlap(it, b, &q) {
		if (it->state == MAPEX_RS_GRANTED && it->pid != pid &&
		    (modes & MAPEX_M(it->mode))) {
			found = it->mode;
			break;
		}
	}
	mapex_bucket_unlock(b);
	return found;
}

/*
 * Still the lone holder: nobody waits for it.  Only its owner makes a range
 * the lone holder, so if @lone is not @r now, @r is in the tree and the
 * path is closed until the tree empties.
 */
static __always_inline bool mapex_lone_unlock(struct mapex_rl_bucket *b,
					      struct mapex_range *r)
{
	if (likely(READ_ONCE(b->lone) == r) &&
	    likely(cmpxchg_release(&b->lone, r, NULL) == r)) {
		r->state = MAPEX_RS_RELEASED;
		return true;
	}
	return false;
}

static __always_inline bool mapex_unlock_check(const struct mapex_range *r)
{
	return !WARN(r->state != MAPEX_RS_GRANTED,
		     "mapex: unlock of a range that is not held (state %#x)\n",
		     r->state);
}

void mapex_range_unlock(struct mapex_range *r)
{
	struct mapex_rl_bucket *b = r->bucket;

	if (!mapex_unlock_check(r))
		return;
	mapex_dep_release(b->cls, r, _RET_IP_);
	if (mapex_lone_unlock(b, r))
		return;
	mapex_bucket_lock(b);
	mapex_remove_locked(b, r);
	mapex_bucket_unlock(b);
}

bool mapex_range_unlock_lone(struct mapex_range *r)
{
	struct mapex_rl_bucket *b = r->bucket;

	if (!mapex_unlock_check(r))
		return true;	/* nothing held: nothing left to do */
	if (!mapex_lone_unlock(b, r))
		return false;
	mapex_dep_release(b->cls, r, _RET_IP_);
	return true;
}

void mapex_range_handover(struct mapex_range *r)
{
	if (!mapex_unlock_check(r) || r->handed_over)
		return;
	lock_release(&r->bucket->cls->dep_map, _RET_IP_);
	r->handed_over = true;
}
