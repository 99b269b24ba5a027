// SPDX-License-Identifier: GPL-2.0
/*
 * module/rangelock.c - the mapex multi-mode range lock: lock classes, the
 * table of per-object locks, and the grant/wait/unlock algorithm.
 *
 * The same file is compiled into mapex.ko and, against a userspace shim,
 * into the unit tests and the benchmark (tests/unit, tests/bench/rangelock).
 * Semantics and the fairness argument: docs/rangelock.md.
 *
 * Lock ordering (outermost first):
 *
 *   mapex range lock (any class, any mode; may sleep)
 *     -> i_rwsem
 *       -> mapping->invalidate_lock
 *         -> i_mmap_rwsem, folio lock, ...   (see docs/locking.md)
 *
 *   mapex_rl_object.lock (spinlock, private to this file)
 *     -> rhashtable bucket lock   (object insert/remove)
 *     -> p->pi_lock, rq->lock     (wake_up_process, as any wait queue)
 *
 * The object spinlock is a leaf apart from those two: nothing sleeps,
 * allocates with GFP_KERNEL or calls an instrumentation callback while
 * holding it.  Two range locks of one task (two-inode operations) are
 * taken in inode address order.
 *
 * Algorithm: each object keeps one interval tree (rbtree keyed by start,
 * augmented with the subtree's largest last byte) holding both granted and
 * waiting requests.  A request counts, when it is inserted, the entries
 * already in the tree that overlap it with an incompatible mode (its
 * "blocking" count); it is granted when that count is zero.  Removing an
 * entry decrements the count of the overlapping incompatible entries that
 * counted it and grants those that reach zero.  Every lock and unlock is
 * O(log n + k), n entries in the object's tree, k of them overlapping.
 *
 * Objects come from a SLAB_TYPESAFE_BY_RCU cache: a lookup under RCU may
 * find an object being freed or already reused, so it is revalidated
 * (table, key, not dead) under its spinlock.  An object is dead, and out of
 * the hash table, from the moment its tree becomes empty.
 */
#include <linux/bug.h>
#include <linux/err.h>
#include <linux/interval_tree_generic.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rhashtable.h>
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

/* The lock of one object (inode): exists while it has holders or waiters. */
struct mapex_rl_object {
	spinlock_t		lock;
	bool			dead;	/* out of the table; revalidate */
	u32			nr_waiting;	/* requests not yet granted */
	const void		*key;
	struct rhash_head	node;
	struct mapex_lock_table	*table;
	struct rb_root_cached	root;	/* granted and waiting requests */
	u64			seq;	/* next arrival number */
};

#define MAPEX_IT_START(r)	((r)->start)
#define MAPEX_IT_LAST(r)	((r)->last)

INTERVAL_TREE_DEFINE(struct mapex_range, rb, u64, subtree_last,
		     MAPEX_IT_START, MAPEX_IT_LAST, static, mapex_it)

#define mapex_for_each_overlap(it, obj, r)				\
	for ((it) = mapex_it_iter_first(&(obj)->root, (r)->start, (r)->last); \
	     (it); (it) = mapex_it_iter_next((it), (r)->start, (r)->last))

static const struct rhashtable_params mapex_rht_params = {
	.key_len		= sizeof(const void *),
	.key_offset		= offsetof(struct mapex_rl_object, key),
	.head_offset		= offsetof(struct mapex_rl_object, node),
	.automatic_shrinking	= true,
};

static const char *const mapex_mode_names[] = MAPEX_MODE_NAMES;

#define MAPEX_M(m)	(1U << (m))

struct mapex_lock_class mapex_default_class = {
	.name		= "mapex_range",
	.nr_modes	= MAPEX_NR_MODES,
	.compat		= {
		/* both go through the page cache; folio locks order them */
		[MAPEX_MODE_FAULT]	= MAPEX_M(MAPEX_MODE_FAULT) |
					  MAPEX_M(MAPEX_MODE_BUFFERED),
		[MAPEX_MODE_BUFFERED]	= MAPEX_M(MAPEX_MODE_FAULT) |
					  MAPEX_M(MAPEX_MODE_BUFFERED),
		/* no page-cache state; the filesystem orders overlapping DIO */
		[MAPEX_MODE_DIRECT]	= MAPEX_M(MAPEX_MODE_DIRECT),
		/* truncate, punch, ...: excludes everything */
		[MAPEX_MODE_INVAL]	= 0,
	},
	.mode_names	= mapex_mode_names,
};

static inline bool mapex_compatible(const struct mapex_lock_class *cls,
				    unsigned int a, unsigned int b)
{
	return cls->compat[a] & MAPEX_M(b);
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

/* ---- tables and per-object locks ---- */

static DEFINE_MUTEX(mapex_cache_mutex);
static struct kmem_cache *mapex_obj_cache;
static unsigned int mapex_cache_users;

/* Runs once per slab object, not per allocation: the lock stays valid. */
static void mapex_obj_ctor(void *p)
{
	struct mapex_rl_object *obj = p;

	spin_lock_init(&obj->lock);
	obj->dead = true;
	obj->key = NULL;
	obj->table = NULL;
	obj->root = RB_ROOT_CACHED;
	obj->seq = 0;
	obj->nr_waiting = 0;
}

static void mapex_cache_put(void)
{
	mutex_lock(&mapex_cache_mutex);
	if (--mapex_cache_users == 0) {
		kmem_cache_destroy(mapex_obj_cache);
		mapex_obj_cache = NULL;
	}
	mutex_unlock(&mapex_cache_mutex);
}

int mapex_table_init(struct mapex_lock_table *t, struct mapex_lock_class *cls)
{
	int ret;

	if (WARN_ON(!cls->pcpu))	/* mapex_class_init() not called */
		return -EINVAL;
	mutex_lock(&mapex_cache_mutex);
	if (!mapex_cache_users) {
		mapex_obj_cache = kmem_cache_create("mapex_range_obj",
					sizeof(struct mapex_rl_object), 0,
					SLAB_TYPESAFE_BY_RCU | SLAB_HWCACHE_ALIGN,
					mapex_obj_ctor);
		if (!mapex_obj_cache) {
			mutex_unlock(&mapex_cache_mutex);
			return -ENOMEM;
		}
	}
	mapex_cache_users++;
	mutex_unlock(&mapex_cache_mutex);

	t->cls = cls;
	ret = rhashtable_init(&t->ht, &mapex_rht_params);
	if (ret)
		mapex_cache_put();
	return ret;
}

void mapex_table_destroy(struct mapex_lock_table *t)
{
	WARN(atomic_read(&t->ht.nelems), "mapex: table destroyed with %d live objects\n",
	     atomic_read(&t->ht.nelems));
	rhashtable_destroy(&t->ht);
	mapex_cache_put();
}

unsigned long mapex_table_live_objects(const struct mapex_lock_table *t)
{
	return atomic_read(&t->ht.nelems);
}

/*
 * Find or create the object of @key and return it locked, or an ERR_PTR.
 * A new object is locked before it is published, so nobody sees it empty.
 */
static struct mapex_rl_object *
mapex_obj_get_locked(struct mapex_lock_table *t, const void *key, gfp_t gfp)
	__acquires(&obj->lock)
{
	struct mapex_rl_object *obj, *old;

	for (;;) {
		rcu_read_lock();
		obj = rhashtable_lookup(&t->ht, &key, mapex_rht_params);
		if (obj) {
			spin_lock(&obj->lock);
			if (likely(!obj->dead && obj->key == key &&
				   obj->table == t)) {
				rcu_read_unlock();
				return obj;
			}
			/* freed (and maybe reused) since the lookup */
			spin_unlock(&obj->lock);
			rcu_read_unlock();
			cpu_relax();
			continue;
		}
		rcu_read_unlock();

		obj = kmem_cache_alloc(mapex_obj_cache, gfp);
		if (!obj) {
			__acquire(&obj->lock);	/* for sparse: see callers */
			return ERR_PTR(-ENOMEM);
		}
		spin_lock(&obj->lock);
		/* stale RCU lookups may still be reading the key */
		WRITE_ONCE(obj->key, key);
		obj->table = t;
		rcu_read_lock();
		old = rhashtable_lookup_get_insert_fast(&t->ht, &obj->node,
							mapex_rht_params);
		rcu_read_unlock();
		if (likely(!old)) {
			obj->dead = false;
			return obj;
		}
		/* lost a race with another creator, or no memory */
		WRITE_ONCE(obj->key, NULL);
		obj->table = NULL;
		spin_unlock(&obj->lock);
		kmem_cache_free(mapex_obj_cache, obj);
		if (IS_ERR(old)) {
			__acquire(&obj->lock);	/* for sparse: see callers */
			return ERR_PTR(-ENOMEM);
		}
	}
}

/* Unlock @obj; free it first if nobody holds or waits for it any more. */
static void mapex_obj_unlock_put(struct mapex_rl_object *obj)
	__releases(&obj->lock)
{
	if (!RB_EMPTY_ROOT(&obj->root.rb_root)) {
		spin_unlock(&obj->lock);
		return;
	}
	obj->dead = true;
	rhashtable_remove_fast(&obj->table->ht, &obj->node, mapex_rht_params);
	spin_unlock(&obj->lock);
	kmem_cache_free(mapex_obj_cache, obj);
}

/* ---- grant, wait and release ---- */

static int mapex_range_prepare(struct mapex_lock_table *t, const void *key,
			       struct mapex_range *r, u64 start, u64 end,
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
	return 0;
}

/* Called with obj->lock held; r is granted and owned by its caller. */
static void mapex_grant_locked(struct mapex_range *w)
{
	struct task_struct *tsk = w->task;

	/* the waiter may return, unlock and exit as soon as it sees NULL */
	get_task_struct(tsk);
	w->obj->nr_waiting--;
	w->state = MAPEX_RS_GRANTED;
	smp_store_release(&w->task, NULL);
	wake_up_process(tsk);
	put_task_struct(tsk);
}

/*
 * Take @r out of its object's tree and release the entries that counted it:
 * every overlapping incompatible waiter if @r was granted, the later ones
 * if @r was itself waiting (a waiter counted only what was there before).
 */
static void mapex_remove_locked(const struct mapex_lock_class *cls,
				struct mapex_rl_object *obj,
				struct mapex_range *r)
{
	bool granted = r->state == MAPEX_RS_GRANTED;
	struct mapex_range *it;

	mapex_it_remove(r, &obj->root);
	if (!granted)
		obj->nr_waiting--;
	/* the common case: nobody waits, nobody counted r */
	if (!obj->nr_waiting)
		goto out;
	mapex_for_each_overlap(it, obj, r) {
		if (mapex_compatible(cls, r->mode, it->mode))
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
			mapex_grant_locked(it);
	}
out:
	r->state = MAPEX_RS_RELEASED;
}

static void mapex_insert_locked(struct mapex_rl_object *obj,
				struct mapex_range *r, u8 state)
{
	r->obj = obj;
	r->seq = obj->seq++;
	r->state = state;
	mapex_it_insert(r, &obj->root);
}

/* Fatal signal while waiting: undo, unless the grant won the race. */
static int mapex_range_cancel(const struct mapex_lock_class *cls,
			      struct mapex_range *r)
{
	struct mapex_rl_object *obj = r->obj;

	spin_lock(&obj->lock);
	if (!READ_ONCE(r->task)) {
		spin_unlock(&obj->lock);
		return 0;
	}
	r->task = NULL;
	mapex_remove_locked(cls, obj, r);
	mapex_obj_unlock_put(obj);
	return -EINTR;
}

static int mapex_range_wait(struct mapex_lock_class *cls,
			    struct mapex_range *r, unsigned int state,
			    unsigned int holder_mode, pid_t holder_pid)
{
	u64 t0 = ktime_get_ns(), waited;
	int ret = 0;

	lock_contended(&cls->dep_map, _RET_IP_);
	if (cls->contention_begin)
		cls->contention_begin(r, holder_mode, holder_pid);
	for (;;) {
		set_current_state(state);
		if (!smp_load_acquire(&r->task))
			break;
		if (state == TASK_KILLABLE && fatal_signal_pending(current)) {
			ret = mapex_range_cancel(cls, r);
			break;
		}
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	waited = ktime_get_ns() - t0;

	if (!ret) {
		lock_acquired(&cls->dep_map, _RET_IP_);
		this_cpu_inc(cls->pcpu->acquired[r->mode]);
	} else {
		lock_release(&cls->dep_map, _RET_IP_);
	}
	this_cpu_inc(cls->pcpu->contended[r->mode]);
	this_cpu_add(cls->pcpu->wait_ns[r->mode], waited);
	if (cls->contention_end)
		cls->contention_end(r, holder_mode, waited, ret);
	return ret;
}

static int __mapex_range_lock(struct mapex_lock_table *t, const void *key,
			      struct mapex_range *r, u64 start, u64 end,
			      unsigned int mode, unsigned int state)
{
	struct mapex_lock_class *cls = t->cls;
	struct mapex_range *it, *blocker = NULL;
	unsigned int holder_mode = MAPEX_MODE_NONE;
	struct mapex_rl_object *obj;
	pid_t holder_pid = 0;
	u32 blocking = 0;
	int ret;

	might_sleep();
	ret = mapex_range_prepare(t, key, r, start, end, mode);
	if (ret)
		return ret;
	obj = mapex_obj_get_locked(t, key, GFP_KERNEL);
	if (IS_ERR(obj)) {
		__release(&obj->lock);	/* sparse: nothing was locked */
		return PTR_ERR(obj);
	}

	mapex_for_each_overlap(it, obj, r) {
		if (mapex_compatible(cls, mode, it->mode))
			continue;
		blocking++;
		if (!blocker || (blocker->state != MAPEX_RS_GRANTED &&
				 it->state == MAPEX_RS_GRANTED))
			blocker = it;
	}
	lock_acquire_shared(&cls->dep_map, 0, 0, NULL, _RET_IP_);
	if (likely(!blocking)) {
		mapex_insert_locked(obj, r, MAPEX_RS_GRANTED);
		spin_unlock(&obj->lock);
		this_cpu_inc(cls->pcpu->acquired[mode]);
		return 0;
	}

	if (blocker->state == MAPEX_RS_GRANTED)
		holder_mode = blocker->mode;
	holder_pid = blocker->pid;
	r->blocking = blocking;
	r->task = current;
	obj->nr_waiting++;
	mapex_insert_locked(obj, r, MAPEX_RS_WAITING);
	spin_unlock(&obj->lock);

	return mapex_range_wait(cls, r, state, holder_mode, holder_pid);
}

int mapex_range_lock(struct mapex_lock_table *t, const void *key,
		     struct mapex_range *r, u64 start, u64 end,
		     unsigned int mode)
{
	return __mapex_range_lock(t, key, r, start, end, mode,
				  TASK_UNINTERRUPTIBLE);
}

int mapex_range_lock_killable(struct mapex_lock_table *t, const void *key,
			      struct mapex_range *r, u64 start, u64 end,
			      unsigned int mode)
{
	return __mapex_range_lock(t, key, r, start, end, mode, TASK_KILLABLE);
}

static int __mapex_range_trylock(struct mapex_lock_table *t, const void *key,
				 struct mapex_range *r, u64 start, u64 end,
				 unsigned int mode, bool nested)
{
	struct mapex_lock_class *cls = t->cls;
	struct mapex_rl_object *obj;
	struct mapex_range *it;
	int ret;

	ret = mapex_range_prepare(t, key, r, start, end, mode);
	if (ret)
		return ret;
	obj = mapex_obj_get_locked(t, key, GFP_NOWAIT | __GFP_NOWARN);
	if (IS_ERR(obj)) {
		__release(&obj->lock);	/* sparse: nothing was locked */
		return PTR_ERR(obj);
	}

	/* a nested request ignores waiters: it must not queue behind them */
	mapex_for_each_overlap(it, obj, r) {
		if (mapex_compatible(cls, mode, it->mode))
			continue;
		if (!nested || it->state == MAPEX_RS_GRANTED) {
			mapex_obj_unlock_put(obj);
			return 0;
		}
	}
	/* ...but they now wait for it, as for any earlier holder */
	if (nested && obj->nr_waiting) {
		mapex_for_each_overlap(it, obj, r) {
			if (!mapex_compatible(cls, mode, it->mode))
				it->blocking++;
		}
	}
	mapex_insert_locked(obj, r, MAPEX_RS_GRANTED);
	spin_unlock(&obj->lock);

	if (nested)
		lock_acquire_shared_recursive(&cls->dep_map, 0, 1, NULL, _RET_IP_);
	else
		lock_acquire_shared(&cls->dep_map, 0, 1, NULL, _RET_IP_);
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

void mapex_range_unlock(struct mapex_range *r)
{
	struct mapex_rl_object *obj;
	struct mapex_lock_class *cls;

	if (WARN(r->state != MAPEX_RS_GRANTED,
		 "mapex: unlock of a range that is not held (state %#x)\n",
		 r->state))
		return;
	obj = r->obj;
	cls = obj->table->cls;
	lock_release(&cls->dep_map, _RET_IP_);
	spin_lock(&obj->lock);
	mapex_remove_locked(cls, obj, r);
	mapex_obj_unlock_put(obj);
}
