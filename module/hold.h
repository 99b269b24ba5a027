/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/hold.h - what the current task holds: every wrapper registers a
 * struct mapex_hold (on its stack, or in an async IO context) for the time
 * it holds or waits for a range, so that nested requests by the same task
 * are recognised across inodes and checkpoints can ask "is this guarded?".
 */
#ifndef MAPEX_HOLD_H
#define MAPEX_HOLD_H

#include <linux/hash.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "rangelock.h"

struct inode;
struct mapex_profile;

enum mapex_hold_state {
	MAPEX_HOLD_NONE,	/* registered, no range requested yet */
	MAPEX_HOLD_WAITING,	/* in a lock call */
	MAPEX_HOLD_LOCKED,	/* holds @range */
	MAPEX_HOLD_BYPASS,	/* proceeds without a range of its own: covered,
				 * refused as invalid, or mapex disabled */
	MAPEX_HOLD_DEFERRED,	/* a fault waiting for the return to user */
};

/* What mapex_hold_prepare_unlisted() found among the task's records. */
#define MAPEX_TASK_HOLDS	0x1	/* a LOCKED or BYPASS record */
#define MAPEX_TASK_DEFERRED	0x2	/* a DEFERRED record */

struct mapex_hold {
	struct hlist_node	node;		/* in the per-task table */
	struct task_struct	*task;
	struct inode		*inode;
	struct mapex_profile	*profile;
	struct mapex_range	range;
	u64			start, end;	/* requested [start, end) */
	u8			mode;
	u8			op;		/* enum mapex_op */
	u8			state;		/* enum mapex_hold_state */
	/*
	 * Kept by a kernel-mode write fault for the ->page_mkwrite that
	 * follows it (module/fault.c): that call takes it back.
	 */
	bool			handover;
	/* set at the grant while mapex_release is traced, else 0 */
	u64			granted_ns;
	s32			granted_pid, granted_tid;
	/*
	 * A nested fault of this task did not fit and failed fast: the
	 * wrapper that owns the record redoes the rest of its operation.
	 * @refused_file (referenced) and the range say what to fault in.
	 */
	bool			refused;
	struct file		*refused_file;
	u64			refused_start, refused_end;
};

/*
 * The table: a hash of the task pointer.  Records live on their owners'
 * stacks; only the owner adds or removes its records.  @nr is written under
 * @lock and read without it by the owner's own lock-free test.
 */
#define MAPEX_HOLD_HASH_BITS	8

struct mapex_hold_bucket {
	spinlock_t		lock;
	unsigned int		nr;	/* records listed */
	struct hlist_head	head;
};

extern struct mapex_hold_bucket mapex_hold_table[1 << MAPEX_HOLD_HASH_BITS];

static inline struct mapex_hold_bucket *
mapex_hold_bucket(const struct task_struct *t)
{
	return &mapex_hold_table[hash_ptr(t, MAPEX_HOLD_HASH_BITS)];
}

/* A new record of the current task, not yet requesting: its bucket. */
static inline struct mapex_hold_bucket *mapex_hold_start(struct mapex_hold *h)
{
	h->task = current;
	h->state = MAPEX_HOLD_NONE;
	h->handover = false;
	h->refused = false;
	h->refused_file = NULL;
	return mapex_hold_bucket(current);
}

void mapex_hold_init(void);
/* Registers @h for the current task; true if it already held a range. */
bool mapex_hold_register(struct mapex_hold *h);
/*
 * Prepares @h without listing it (for requests nothing can nest inside,
 * such as faults: one lock round trip instead of two); returns the
 * MAPEX_TASK_* bits of what the current task already has listed.
 * mapex_hold_register() may list it later.
 */
unsigned int __mapex_hold_bucket_has_holder(struct mapex_hold_bucket *b);
static inline unsigned int mapex_hold_prepare_unlisted(struct mapex_hold *h)
{
	struct mapex_hold_bucket *b = mapex_hold_start(h);

	INIT_HLIST_NODE(&h->node);
	/*
	 * Only this task lists or unlists its own records, so an empty
	 * bucket seen without the lock means it has none, whatever other
	 * tasks of the bucket are doing: the usual fault takes no lock here.
	 */
	if (!READ_ONCE(b->nr))
		return 0;
	return __mapex_hold_bucket_has_holder(b);
}
void __mapex_hold_unregister(struct mapex_hold *h);
/* Unlists @h if it is listed; a no-op for an unlisted record. */
static inline void mapex_hold_unregister(struct mapex_hold *h)
{
	/* only the owner adds or removes its record: no race on this test */
	if (!hlist_unhashed(&h->node))
		__mapex_hold_unregister(h);
}
/*
 * The mode in which the current task holds [start, end) of @inode, among
 * @modes (bits), or -1 if it holds none of them over all of it.
 */
int mapex_current_covering(const struct inode *inode, u64 start, u64 end,
			   unsigned int modes);
static inline bool mapex_current_covers(const struct inode *inode, u64 start,
					u64 end, unsigned int modes)
{
	return mapex_current_covering(inode, start, end, modes) >= 0;
}
/* Does the current task hold a range (or run an unguarded operation)? */
bool mapex_current_holds(void);
/*
 * May the current task wait for ranges it asks for on someone's behalf
 * (module/redirty.c, module/remote.c)?  Only in task context, holding
 * none (rule 2 of docs/locking.md).
 */
static inline bool mapex_current_may_wait(void)
{
	return in_task() && !mapex_current_holds();
}
/*
 * A nested fault on @file's [start, end) failed fast: note it in every
 * range the current task holds, so that the wrapper owning it redoes.
 */
void mapex_current_note_refusal(struct file *file, u64 start, u64 end);
/*
 * The current task's record on @inode that a write fault kept for its
 * ->page_mkwrite (module/fault.c), unlisted, or NULL: the caller then
 * releases its range.
 */
struct mapex_hold *mapex_current_take_handover(const struct inode *inode);
/* Drop the reference a refusal note took. */
void mapex_hold_forget_refusal(struct mapex_hold *h);
/* The current task's pending (waiting) request, for contention tracing. */
struct mapex_hold *mapex_current_waiting(void);

#endif /* MAPEX_HOLD_H */
