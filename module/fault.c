// SPDX-License-Identifier: GPL-2.0
/*
 * module/fault.c - the ->fault and ->page_mkwrite wrappers, and faults
 * deferred to the return to user.
 *
 * A fault takes FAULT over the folio span of its page without waiting
 * (it holds mmap_lock or the per-VMA lock).  When the range is busy, one
 * helper, mapex_fault_conflict(), decides, the way filemap_fault() hands
 * its folio lock to lock_folio_maybe_drop_mmap():
 *
 * - FAULT_FLAG_RETRY_NOWAIT: VM_FAULT_RETRY, the fault lock kept, as the
 *   caller asked.
 * - A task that holds a range (a user copy or GUP inside IO): fail fast
 *   with VM_FAULT_SIGBUS and note the refusal; the copy comes back short
 *   or GUP fails, and the IO wrapper redoes (request.c, rule 2).
 * - A user-mode fault: VM_FAULT_NOPAGE, and a task_work that runs as the
 *   task returns to user, holding no lock: it waits for the range in the
 *   queue (killable, FIFO with every other request), faults the page in
 *   with fixup_user_fault() while holding it, and releases.  The access
 *   is then repeated and finds its page.  So a fault keeps its place in
 *   the queue across the retry, and ->page_mkwrite, which cannot drop the
 *   fault lock, queues too.
 * - ->page_mkwrite cannot tell a user-mode fault from a kernel-mode one
 *   (do_page_mkwrite() replaces vmf->flags).  It defers once; if the same
 *   task faults again before its task_work ran, it never returned to user,
 *   so the fault is a kernel-mode copy repeating the access: it fails fast.
 *   A kernel-mode copy is therefore refused after one repeat, not spun.
 * - Any other kernel-mode fault of a task that holds nothing (a pipe,
 *   socket or FIEMAP copy into a mapping, MADV_POPULATE_*, a kernel
 *   thread's GUP): it may hold a lock a range holder waits for (rule 3),
 *   so it waits for the range at most fault_wait_ms (killable), under the
 *   fault lock it came with, and fails fast when the time runs out.  A
 *   conflict that is only contention is over in that time and the copy
 *   completes; a cycle through a lock it holds costs that delay once and
 *   ends as a refusal, never a deadlock.  fault_wait_ms=0: fail fast at
 *   once (0.6.1 and before).  A write fault on a shared mapping that got
 *   its range this way keeps it for the ->page_mkwrite that follows
 *   (struct mapex_fault_handover).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>

#include "interpose.h"

typedef vm_fault_t (*mapex_fault_t)(struct vm_fault *);

#define MAPEX_FAULT_WAIT_MAX_MS	10000

/* How long a kernel-mode fault of a task holding nothing may wait. */
static unsigned int fault_wait_ms = 100;

static int mapex_fault_wait_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;

	if (kstrtouint(val, 10, &ms) || ms > MAPEX_FAULT_WAIT_MAX_MS) {
		/* a sysfs write brings its newline: leave it out */
		pr_err("fault_wait_ms: '%.*s' is not a number of milliseconds from 0 to %u\n",
		       (int)strcspn(val, "\n"), val, MAPEX_FAULT_WAIT_MAX_MS);
		return -EINVAL;
	}
	WRITE_ONCE(fault_wait_ms, ms);
	return 0;
}

static const struct kernel_param_ops mapex_fault_wait_ops = {
	.set = mapex_fault_wait_set,
	.get = param_get_uint,
};
module_param_cb(fault_wait_ms, &mapex_fault_wait_ops, &fault_wait_ms, 0644);
MODULE_PARM_DESC(fault_wait_ms,
		 "How long a kernel-mode fault of a task holding no range waits for a busy range before it is refused (ms, 0-10000, default 100)");

struct mapex_deferred_fault {
	struct mapex_hold	hold;	/* DEFERRED: the repeat's marker */
	struct callback_head	work;
	struct file		*file;	/* keeps hold.inode alive */
	unsigned long		address;
	unsigned int		fault_flags;	/* FAULT_FLAG_WRITE or 0 */
};

static void mapex_deferred_fault_run(struct callback_head *work)
{
	struct mapex_deferred_fault *d =
		container_of(work, struct mapex_deferred_fault, work);
	struct mapex_profile *p = d->hold.profile;
	struct mm_struct *mm = current->mm;
	struct mapex_hold h;

	mapex_hold_unregister(&d->hold);
	if (mm && !(current->flags & PF_EXITING) &&
	    !fatal_signal_pending(current) && READ_ONCE(p->enabled)) {
		mapex_set_request(&h, p, d->hold.inode, d->hold.op,
				  MAPEX_MODE_FAULT, d->hold.start, d->hold.end);
		/* no lock held: wait in the queue like any entry point */
		if (mapex_acquire(&h, false) > 0 &&
		    !mmap_read_lock_killable(mm)) {
			bool unlocked = false;

			/* the fault nests in our range: it fits */
			fixup_user_fault(mm, d->address, d->fault_flags,
					 &unlocked);
			mmap_read_unlock(mm);
		}
		mapex_release(&h);
		mapex_hold_forget_refusal(&h);
	}
	fput(d->file);
	kfree(d);
	mapex_wrapper_leave();
}

/* Defer a user-mode fault to the return to user; 0 if it cannot be. */
static vm_fault_t mapex_defer_fault(struct mapex_hold *h, struct vm_fault *vmf)
{
	struct mapex_deferred_fault *d;

	d = kmalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return VM_FAULT_OOM;
	mapex_set_request(&d->hold, h->profile, h->inode, h->op, h->mode,
			  h->start, h->end);
	d->file = get_file(vmf->vma->vm_file);
	d->address = vmf->address;
	d->fault_flags = (h->op == MAPEX_OP_MKWRITE ||
			  (vmf->flags & FAULT_FLAG_WRITE)) ? FAULT_FLAG_WRITE : 0;
	init_task_work(&d->work, mapex_deferred_fault_run);
	if (task_work_add(current, &d->work, TWA_RESUME)) {
		/* exiting: it never returns to user */
		fput(d->file);
		kfree(d);
		return 0;
	}
	mapex_hold_register(&d->hold);
	WRITE_ONCE(d->hold.state, MAPEX_HOLD_DEFERRED);
	mapex_wrapper_enter();		/* unload waits for the task_work */
	mapex_count(h->profile, MAPEX_CNT_RETRY, MAPEX_MODE_FAULT);
	return VM_FAULT_NOPAGE;
}

/* May this conflicting fault of a task holding nothing wait at all? */
static bool mapex_fault_may_defer(struct vm_fault *vmf, unsigned int op,
				  unsigned int task)
{
	if (op == MAPEX_OP_FAULT)
		return vmf->flags & FAULT_FLAG_USER;
	/* ->page_mkwrite: see the file comment */
	return !(task & MAPEX_TASK_DEFERRED) && current->mm &&
	       !(current->flags & (PF_KTHREAD | PF_IO_WORKER));
}

/*
 * A kernel-mode write fault on a shared mapping that waited for its range
 * keeps it for the ->page_mkwrite that do_shared_fault() calls next, so
 * that a direct write queued meanwhile cannot take the page between the
 * two and send the copy round again (a FIEMAP copy into the very page a
 * stream of direct writes rewrites needed many rounds, or failed).  The
 * record lives on the heap with a task_work that frees it as the task
 * returns to user, and releases the range then if ->page_mkwrite never
 * took it back: only a poisoned page (__do_fault()) ends the fault
 * between the two.  Until then the task holds a range, so its other
 * requests are nested and never wait (rule 2 of docs/locking.md).
 * Kernel threads and io workers never return to user: they release at
 * the end of ->fault as before.
 */
struct mapex_fault_handover {
	struct mapex_hold	hold;
	struct callback_head	work;
	struct file		*file;	/* keeps hold.inode alive */
};

static void mapex_handover_free(struct mapex_fault_handover *fh)
{
	mapex_hold_forget_refusal(&fh->hold);
	fput(fh->file);
	kfree(fh);
}

static void mapex_handover_run(struct callback_head *work)
{
	struct mapex_fault_handover *fh =
		container_of(work, struct mapex_fault_handover, work);

	/* still listed and held if ->page_mkwrite never came */
	mapex_release(&fh->hold);
	mapex_handover_free(fh);
	mapex_wrapper_leave();
}

/* A record to wait in that may be handed over, or NULL: wait in @h. */
static struct mapex_fault_handover *
mapex_handover_alloc(const struct mapex_hold *h, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mapex_fault_handover *fh;

	if (h->op != MAPEX_OP_FAULT || !(vmf->flags & FAULT_FLAG_WRITE) ||
	    !(vma->vm_flags & VM_SHARED) || !vma->vm_ops->page_mkwrite ||
	    !current->mm || (current->flags & (PF_KTHREAD | PF_IO_WORKER)))
		return NULL;
	fh = kmalloc(sizeof(*fh), GFP_KERNEL);
	if (!fh)
		return NULL;
	mapex_set_request(&fh->hold, h->profile, h->inode, h->op, h->mode,
			  h->start, h->end);
	fh->file = get_file(vma->vm_file);
	init_task_work(&fh->work, mapex_handover_run);
	return fh;
}

/*
 * ->fault returned @ret with @held's range held, in a record that may be
 * handed over: keep it for ->page_mkwrite, or release and free it.
 */
static void mapex_hand_over(struct mapex_hold *held, vm_fault_t ret)
{
	struct mapex_fault_handover *fh =
		container_of(held, struct mapex_fault_handover, hold);

	if (!(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |
		     VM_FAULT_DONE_COW)) && held->state == MAPEX_HOLD_LOCKED &&
	    !task_work_add(current, &fh->work, TWA_RESUME)) {
		WRITE_ONCE(held->handover, true);
		mapex_wrapper_enter();	/* unload waits for the task_work */
		return;
	}
	/* an error, nothing held, or exiting (no task_work) */
	mapex_release(held);
	mapex_handover_free(fh);
}

/* ->page_mkwrite of @inode is done: release the range its fault kept. */
static void mapex_handover_end(const struct inode *inode)
{
	struct mapex_hold *h = mapex_current_take_handover(inode);

	/* unlisted now; the task_work frees the record */
	if (h && h->state == MAPEX_HOLD_LOCKED)
		mapex_unlock_hold(h);
}

/*
 * The range @h of a fault is busy: what to return (file comment), or 0
 * when a bounded wait got it; *@held is then the record that holds it
 * (listed): @h, or one that may be handed over to ->page_mkwrite.
 */
static vm_fault_t mapex_fault_conflict(struct mapex_hold *h,
				       struct vm_fault *vmf,
				       unsigned int task,
				       struct mapex_hold **held)
{
	struct mapex_fault_handover *fh;
	unsigned int wait_ms;
	vm_fault_t ret;

	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT) {
		mapex_count(h->profile, MAPEX_CNT_RETRY, MAPEX_MODE_FAULT);
		return VM_FAULT_RETRY;
	}
	if (task & MAPEX_TASK_HOLDS) {
		mapex_current_note_refusal(vmf->vma->vm_file, h->start, h->end);
		goto refuse;
	}
	if (mapex_fault_may_defer(vmf, h->op, task)) {
		ret = mapex_defer_fault(h, vmf);
		if (ret)
			return ret;
	}
	wait_ms = READ_ONCE(fault_wait_ms);
	if (wait_ms) {
		fh = mapex_handover_alloc(h, vmf);
		*held = fh ? &fh->hold : h;
		if (mapex_acquire_timeout(*held, msecs_to_jiffies(wait_ms)))
			return 0;
		if (fh)
			mapex_handover_free(fh);
		*held = h;
	}
refuse:
	mapex_refuse(h);
	return VM_FAULT_SIGBUS;
}

/*
 * A read fault only inserts clean folios.  Inside a direct write's range
 * held by the same task (an O_DIRECT write from a mapping of its own
 * range), the direct write's own invalidation drops them, and every other
 * page-cache user is excluded by that range: it is covered.
 */
static unsigned int mapex_fault_also_covers(struct vm_fault *vmf,
					    unsigned int op)
{
	if (op == MAPEX_OP_FAULT && !(vmf->flags & FAULT_FLAG_WRITE))
		return BIT(MAPEX_MODE_DIRECT_WRITE);
	return 0;
}

vm_fault_t mapex_fault(struct mapex_profile *p, struct mapex_hook *hook,
		       struct vm_fault *vmf, unsigned int op)
{
	mapex_fault_t orig = MAPEX_ORIG(hook, mapex_fault_t);
	struct inode *inode = file_inode(vmf->vma->vm_file);
	u64 start = (u64)vmf->pgoff << PAGE_SHIFT;
	u64 end = start + PAGE_SIZE;
	struct mapex_hold h, *held = &h;
	unsigned int task;
	vm_fault_t ret;
	int got;

	mapex_wrapper_enter();
	if (!READ_ONCE(p->enabled)) {
		ret = orig(vmf);
		goto out;
	}
	mapex_span(inode, &start, &end);
	mapex_set_request(&h, p, inode, op, MAPEX_MODE_FAULT, start, end);
	/*
	 * Not listed in the hold table: nothing that asks the table runs
	 * inside a fault handler (no hooked entry point, no checkpoint), so
	 * only the nesting test is needed.
	 */
	task = mapex_hold_prepare_unlisted(&h);
	if (task & MAPEX_TASK_HOLDS)
		got = mapex_try_nested(&h, mapex_fault_also_covers(vmf, op));
	else
		got = mapex_acquire_once(&h);
	if (!got) {
		ret = mapex_fault_conflict(&h, vmf, task, &held);
		if (ret)
			goto out;
	}
	ret = orig(vmf);
	if (held == &h)
		mapex_release(&h);
	else
		mapex_hand_over(held, ret);
out:
	/* a handed-over range ends here, whatever this call did */
	if (op == MAPEX_OP_MKWRITE)
		mapex_handover_end(inode);
	mapex_wrapper_leave();
	return ret;
}

/*
 * filemap_fault serves ext4, btrfs and many others: find the profile.  A
 * fault on another filesystem still runs (and may sleep) inside this
 * wrapper, so it counts as in flight too: unload must wait for it.
 *
 * A filesystem whose own ->fault is hooked (xfs) calls filemap_fault from
 * inside it, with the FAULT range already held: pass that call through.
 */
vm_fault_t mapex_filemap_fault_wrap(struct vm_fault *vmf)
{
	struct mapex_hook *hook = &mapex_core_hooks[MAPEX_CORE_FILEMAP_FAULT];
	struct mapex_profile *p = mapex_profile_of(file_inode(vmf->vma->vm_file));
	vm_fault_t ret;

	if (p && p->shares_fault)
		return mapex_fault(p, hook, vmf, MAPEX_OP_FAULT);
	mapex_wrapper_enter();
	ret = MAPEX_ORIG(hook, mapex_fault_t)(vmf);
	mapex_wrapper_leave();
	return ret;
}
