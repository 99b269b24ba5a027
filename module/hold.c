// SPDX-License-Identifier: GPL-2.0
/*
 * module/hold.c - the per-task table of held and pending ranges.
 *
 * Without a field in task_struct, holders are found through a hash of the
 * task pointer.  Records live on their owners' stacks; only the owner adds
 * or removes its records and a reader only looks for its own task, but a
 * bucket is shared, so walks and updates take the bucket's spinlock (a
 * leaf lock: nothing is called under it).
 */
#include <linux/bits.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "hold.h"

struct mapex_hold_bucket mapex_hold_table[1 << MAPEX_HOLD_HASH_BITS];

void mapex_hold_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mapex_hold_table); i++) {
		spin_lock_init(&mapex_hold_table[i].lock);
		INIT_HLIST_HEAD(&mapex_hold_table[i].head);
	}
}

/* MAPEX_TASK_* bits of the current task's records.  Bucket locked. */
static unsigned int mapex_bucket_has_holder(struct mapex_hold_bucket *b)
{
	struct mapex_hold *o;
	unsigned int found = 0;

	hlist_for_each_entry(o, &b->head, node) {
		if (o->task != current)
			continue;
		if (o->state == MAPEX_HOLD_LOCKED ||
		    o->state == MAPEX_HOLD_BYPASS)
			found |= MAPEX_TASK_HOLDS;
		else if (o->state == MAPEX_HOLD_DEFERRED)
			found |= MAPEX_TASK_DEFERRED;
	}
	return found;
}

bool mapex_hold_register(struct mapex_hold *h)
{
	struct mapex_hold_bucket *b = mapex_hold_start(h);
	bool nested;

	spin_lock(&b->lock);
	nested = mapex_bucket_has_holder(b) & MAPEX_TASK_HOLDS;
	hlist_add_head(&h->node, &b->head);
	WRITE_ONCE(b->nr, b->nr + 1);
	spin_unlock(&b->lock);
	return nested;
}

/* The slow half of mapex_hold_prepare_unlisted(): the bucket has records. */
unsigned int __mapex_hold_bucket_has_holder(struct mapex_hold_bucket *b)
{
	unsigned int nested;

	spin_lock(&b->lock);
	nested = mapex_bucket_has_holder(b);
	spin_unlock(&b->lock);
	return nested;
}

void __mapex_hold_unregister(struct mapex_hold *h)
{
	struct mapex_hold_bucket *b = mapex_hold_bucket(h->task);

	spin_lock(&b->lock);
	hlist_del_init(&h->node);
	WRITE_ONCE(b->nr, b->nr - 1);
	spin_unlock(&b->lock);
}

int mapex_current_covering(const struct inode *inode, u64 start, u64 end,
			   unsigned int modes)
{
	struct mapex_hold_bucket *b = mapex_hold_bucket(current);
	struct mapex_hold *o;
	int mode = -1;

	spin_lock(&b->lock);
	hlist_for_each_entry(o, &b->head, node) {
		if (o->task != current || o->inode != inode ||
		    o->state != MAPEX_HOLD_LOCKED)
			continue;
		if (!(modes & BIT(o->mode)))
			continue;
		if (o->start <= start && end <= o->end) {
			mode = o->mode;
			break;
		}
	}
	spin_unlock(&b->lock);
	return mode;
}

bool mapex_current_holds(void)
{
	struct mapex_hold_bucket *b = mapex_hold_bucket(current);

	return READ_ONCE(b->nr) &&
	       (__mapex_hold_bucket_has_holder(b) & MAPEX_TASK_HOLDS);
}

void mapex_current_note_refusal(struct file *file, u64 start, u64 end)
{
	struct mapex_hold_bucket *b = mapex_hold_bucket(current);
	struct mapex_hold *o;

	spin_lock(&b->lock);
	hlist_for_each_entry(o, &b->head, node) {
		if (o->task != current || (o->state != MAPEX_HOLD_LOCKED &&
					    o->state != MAPEX_HOLD_BYPASS))
			continue;
		o->refused = true;
		if (o->refused_file)
			continue;	/* the first refusal is faulted in first */
		o->refused_file = get_file(file);
		o->refused_start = start;
		o->refused_end = end;
	}
	spin_unlock(&b->lock);
}

struct mapex_hold *mapex_current_take_handover(const struct inode *inode)
{
	struct mapex_hold_bucket *b = mapex_hold_bucket(current);
	struct mapex_hold *o, *found = NULL;

	/* the owner's lock-free test, as mapex_hold_prepare_unlisted() */
	if (!READ_ONCE(b->nr))
		return NULL;
	spin_lock(&b->lock);
	hlist_for_each_entry(o, &b->head, node) {
		if (o->task == current && o->handover && o->inode == inode) {
			found = o;
			hlist_del_init(&o->node);
			WRITE_ONCE(b->nr, b->nr - 1);
			o->handover = false;
			break;
		}
	}
	spin_unlock(&b->lock);
	return found;
}

void mapex_hold_forget_refusal(struct mapex_hold *h)
{
	if (h->refused_file)
		fput(h->refused_file);
	h->refused_file = NULL;
	h->refused = false;
}

struct mapex_hold *mapex_current_waiting(void)
{
	struct mapex_hold_bucket *b = mapex_hold_bucket(current);
	struct mapex_hold *o, *found = NULL;

	spin_lock(&b->lock);
	hlist_for_each_entry(o, &b->head, node) {
		if (o->task == current && o->state == MAPEX_HOLD_WAITING) {
			found = o;
			break;
		}
	}
	spin_unlock(&b->lock);
	return found;
}
