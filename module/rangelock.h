/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/rangelock.h - API of the mapex multi-mode range lock: lock classes
 * (compatibility matrix, lockdep map, per-mode counters), tables of
 * per-object locks and the caller-provided range handles.
 *
 * Semantics, fairness argument and costs: docs/rangelock.md.
 * Implementation and lock ordering: module/rangelock.c.
 */
#ifndef MAPEX_RANGELOCK_H
#define MAPEX_RANGELOCK_H

#include <linux/types.h>
#include <linux/rbtree.h>
#include <linux/lockdep_types.h>

#include "../include/mapex/modes.h"

#define MAPEX_MAX_MODES		8

struct task_struct;
struct mapex_rl_bucket;

/* A position in a table: (object pointer, byte offset) as one number. */
typedef unsigned __int128 mapex_itpos_t;

/*
 * A request for a range in one mode, provided by the caller (usually on its
 * stack) and owned by the lock from a lock call until the matching unlock
 * (or until a failed trylock / interrupted killable lock returns).  All
 * fields are private: use the accessors below.
 */
struct mapex_range {
	struct rb_node		rb;		/* in the object's interval tree */
	u64			start;		/* first byte */
	u64			last;		/* last byte (end - 1) */
	mapex_itpos_t		subtree_last;	/* interval tree augmentation */
	struct mapex_rl_bucket	*bucket;	/* where it is queued */
	const void		*key;		/* the object (inode), for tracing */
	struct task_struct	*task;		/* waiting task; NULL once granted */
	u64			seq;		/* arrival order within the object */
	u32			blocking;	/* earlier incompatible overlapping entries */
	pid_t			pid;		/* requesting task */
	u8			mode;
	u8			state;
	bool			handed_over;	/* lockdep: owned by no task */
};

/* Per-mode counters, summed over CPUs by mapex_class_read_stats(). */
struct mapex_mode_stats {
	u64	acquired;	/* grants, by any lock call */
	u64	contended;	/* requests that had to wait (granted or not) */
	u64	wait_ns;	/* total time those requests waited */
};

struct mapex_class_pcpu {
	u64	acquired[MAPEX_MAX_MODES];
	u64	contended[MAPEX_MAX_MODES];
	u64	wait_ns[MAPEX_MAX_MODES];
};

/*
 * A lock class: the modes and their compatibility matrix.  Static storage
 * (lockdep needs a static key); initialise with mapex_class_init() before
 * any table uses it, release with mapex_class_exit().
 */
struct mapex_lock_class {
	const char		*name;
	unsigned int		nr_modes;
	/* bit j of compat[i] set: mode i may overlap mode j (symmetric) */
	u8			compat[MAPEX_MAX_MODES];
	const char *const	*mode_names;
	/*
	 * lockdep: modes annotated as exclusive acquisitions (those that
	 * exclude what the others share); the rest are annotated shared.
	 */
	u8			excl_modes;
	/*
	 * Optional instrumentation of the slow path, called without internal
	 * spinlocks held, from the waiting task.  holder_mode is the mode of
	 * an incompatible granted range, or MAPEX_MODE_NONE when the request
	 * waits only behind queued waiters; holder_pid is the pid of that
	 * holder (or of the first blocking waiter).  result is 0 (granted) or
	 * -EINTR (killed, nothing left queued).
	 */
	void (*contention_begin)(const struct mapex_range *waiter,
				 unsigned int holder_mode, pid_t holder_pid);
	void (*contention_end)(const struct mapex_range *waiter,
			       unsigned int holder_mode, u64 wait_ns,
			       int result);

	/* private */
	struct mapex_class_pcpu __percpu *pcpu;
	struct lock_class_key	lock_key;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map	dep_map;
#endif
};

/* The mapex matrix over enum mapex_mode (include/mapex/modes.h). */
extern struct mapex_lock_class mapex_default_class;

int mapex_class_init(struct mapex_lock_class *cls);
void mapex_class_exit(struct mapex_lock_class *cls);
void mapex_class_read_stats(const struct mapex_lock_class *cls,
			    unsigned int mode, struct mapex_mode_stats *st);

/*
 * Per-object locks: a fixed array of buckets, sized by CPU count at init,
 * each holding the requests of the objects that hash to it.  An idle
 * object costs nothing; locking never allocates.
 */
struct mapex_lock_table {
	struct mapex_rl_bucket	*buckets;
	unsigned int		hash_bits;
	struct mapex_lock_class	*cls;
};

int mapex_table_init(struct mapex_lock_table *t, struct mapex_lock_class *cls);
/* WARNs if an object still has a holder or waiter. */
void mapex_table_destroy(struct mapex_lock_table *t);
/* Objects with at least one holder or waiter (walks the whole table). */
unsigned long mapex_table_busy_keys(struct mapex_lock_table *t);

/*
 * Lock [start, end) of object @key in @mode.  @key is never dereferenced.
 * Returns 0 or -EINVAL (empty range or bad mode; WARNs).
 */
int mapex_range_lock(struct mapex_lock_table *t, const void *key,
		     struct mapex_range *r, u64 start, u64 end,
		     unsigned int mode);
/* As mapex_range_lock(), or -EINTR on a fatal signal with nothing queued. */
int mapex_range_lock_killable(struct mapex_lock_table *t, const void *key,
			      struct mapex_range *r, u64 start, u64 end,
			      unsigned int mode);
/*
 * As mapex_range_lock_killable(), or -ETIMEDOUT with nothing queued when
 * not granted within @timeout jiffies (> 0).  lockdep takes the wait as a
 * trylock: a bounded wait cannot deadlock, it only delays.
 */
int mapex_range_lock_timeout(struct mapex_lock_table *t, const void *key,
			     struct mapex_range *r, u64 start, u64 end,
			     unsigned int mode, long timeout);
/*
 * As mapex_range_lock_killable(), for a task that already holds ranges of
 * the class taken in one fixed order (a set, one range per object, in
 * object address order): @subclass is the range's position in that order
 * (lockdep subclass, as for inode_lock_nested(); positions past lockdep's
 * last subclass are annotated as trylocks in it, out of its order check).
 */
int mapex_range_lock_killable_nested(struct mapex_lock_table *t,
				     const void *key, struct mapex_range *r,
				     u64 start, u64 end, unsigned int mode,
				     unsigned int subclass);
/*
 * The owner hands a held range over to another context (asynchronous IO:
 * the completion unlocks it): lockdep no longer counts it as held by the
 * owner, and the unlock does not release it from the completing context,
 * as sb_start_write() does for AIO.  The range stays held.
 */
void mapex_range_handover(struct mapex_range *r);
/* Never sleeps.  1 if granted, 0 if it would wait, -errno on error. */
int mapex_range_trylock(struct mapex_lock_table *t, const void *key,
			struct mapex_range *r, u64 start, u64 end,
			unsigned int mode);
/*
 * For a task that already holds a range: granted iff compatible with every
 * overlapping *granted* range, ignoring queued waiters (which then also
 * wait for it).  Never sleeps.  1 if granted, 0 if not, -errno on error.
 */
int mapex_range_trylock_nested(struct mapex_lock_table *t, const void *key,
			       struct mapex_range *r, u64 start, u64 end,
			       unsigned int mode);
/*
 * For checkpoints: the mode of a *granted* range of @key overlapping
 * [start, end) in one of @modes (bits), requested by a task other than
 * @pid, or -1 if there is none.  Never sleeps; task or softirq context.
 * Takes the bucket lock only if the bucket has an entry.
 */
int mapex_range_held_by_other(struct mapex_lock_table *t, const void *key,
			      u64 start, u64 end, unsigned int modes,
			      pid_t pid);
/*
 * Task or softirq context, interrupts enabled (the bucket spinlock is
 * softirq-safe).  Unlocking a range not held WARNs.
 */
void mapex_range_unlock(struct mapex_range *r);
/*
 * Any context, hardirq included: release @r if it is the lone holder of
 * its bucket (no other holder or waiter), which takes no spinlock.  True
 * if released; false if the range is still held and needs
 * mapex_range_unlock().
 */
bool mapex_range_unlock_lone(struct mapex_range *r);

static inline const void *mapex_range_key(const struct mapex_range *r)
{
	return r->key;
}

static inline u64 mapex_range_start(const struct mapex_range *r)
{
	return r->start;
}

/* Exclusive end; [0, U64_MAX) is the whole file. */
static inline u64 mapex_range_end(const struct mapex_range *r)
{
	return r->last + 1;
}

static inline unsigned int mapex_range_mode(const struct mapex_range *r)
{
	return r->mode;
}

static inline pid_t mapex_range_pid(const struct mapex_range *r)
{
	return r->pid;
}

#endif /* MAPEX_RANGELOCK_H */
