// SPDX-License-Identifier: GPL-2.0
/*
 * module/remote.c - the kernel storing into a process's memory through
 * pinned pages, on behalf of another task or of the process itself: ptrace
 * and /proc/PID/mem writes (ptrace_access_vm(), access_remote_vm(),
 * access_process_vm()), process_vm_writev(), and direct IO of a block
 * device (blkdev_read_iter(), blkdev_write_iter()).
 *
 * Each pins the target's pages with get_user_pages (a kernel-mode fault of
 * a task that holds nothing: FAULT only if free at once, rule 3 of
 * docs/locking.md), copies into them through the kernel mapping and marks
 * them dirty.  When a page is page cache of a guarded file F (the target
 * maps F shared), F's folio is written and dirtied with no range held, and
 * a direct write to F in flight meanwhile fails its invalidation: the
 * stale cache and EIO of cases 3 and 7 of docs/locking.md (measured with
 * `mxio remote-write`, docs/results.md).  So a write of this kind first
 * takes FAULT over the guarded files the target maps at the destination,
 * as a set in inode order waiting like an entry point (module/buffer.c's
 * mapex_mm_set()), and holds it across the original: its own faults then
 * nest inside the set and fit.  Reads (no FOLL_WRITE, process_vm_readv)
 * only read the page cache and are left alone.
 *
 * A direct read of a block device is the same store, by the device: no
 * filesystem hook sees it, so without a set its get_user_pages faults on
 * F's mapping are refused while a direct write holds F's range (rule 3:
 * the read fails with EFAULT), and an asynchronous one dirties the pages
 * it pinned at submission (bio_set_pages_dirty()) with no range.  A direct
 * write of a block device from F's mapping reads F's pages in through the
 * same faults.  So O_DIRECT block-device IO takes the set of its user
 * buffer first (module/buffer.c's mapex_buffer_set(), as guarded direct
 * reads do) and holds it across submission; a late dirtying at completion
 * is guarded by module/redirty.c.  Buffered block-device IO copies through
 * ordinary faults and is left alone.
 *
 * A task that already holds ranges calls these from inside a guarded
 * operation, or from an outer one of them (6.12's ptrace_access_vm()
 * calls access_remote_vm()), and must not wait for more (rule 2): the
 * original runs as it is, covered by the outer set or counted by the
 * collision detector.  process_vm_writev() is hooked at its x86-64 system call
 * entry, whose arguments are the saved user registers; the destination
 * vector is read once more by the original, so a second thread changing
 * it in between only gets a write without the ranges (counted by the
 * detector, never a deadlock).  The target's permission is checked by the
 * original: a caller without it holds FAULT over the target's files for
 * the length of a refused call, as it could by reading them.
 *
 * Lock ordering: the wrappers hold nothing when they walk the target's
 * VMAs (its mmap_lock, read, killable) and drop it before the ranges are
 * taken; range -> mmap_lock as for every entry point (module/request.c).
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "interpose.h"

typedef int (*mapex_access_process_vm_t)(struct task_struct *tsk,
					 unsigned long addr, void *buf,
					 int len, unsigned int gup_flags);
typedef long (*mapex_syscall_t)(const struct pt_regs *regs);
typedef ssize_t (*mapex_bdev_iter_t)(struct kiocb *iocb,
				     struct iov_iter *iter);

/*
 * Take the set @s (as the set builders return it): the set to release,
 * NULL if there is nothing to hold, or an ERR_PTR if killed, or busy for
 * @nowait.  Without memory for a set the original runs as on a stock kernel.
 */
static struct mapex_rw_set *mapex_remote_take(struct mapex_rw_set *s,
					      bool nowait)
{
	int got;

	if (IS_ERR_OR_NULL(s))
		return PTR_ERR_OR_ZERO(s) == -ENOMEM ? NULL : s;
	got = mapex_set_acquire(s, nowait);
	if (got > 0)
		return s;
	mapex_set_free(s);
	return ERR_PTR(got < 0 ? got : nowait ? -EAGAIN : -EINTR);
}

/* Take the set for @nr segments of @vec in @mm (as mapex_remote_take()). */
static struct mapex_rw_set *mapex_remote_lock(struct mm_struct *mm,
					      const struct iovec *vec,
					      unsigned long nr)
{
	return mapex_remote_take(mapex_mm_set(mm, vec, nr), false);
}

static void mapex_remote_unlock(struct mapex_rw_set *s)
{
	if (!s)
		return;
	mapex_set_release(s, NULL);
	mapex_set_free(s);
}

/*
 * The set a write through get_user_pages of @len bytes at @addr of @mm
 * needs (as mapex_remote_lock()); NULL for a read, or where it may not wait.
 */
static struct mapex_rw_set *mapex_vm_write_lock(struct mm_struct *mm,
						unsigned long addr, int len,
						unsigned int gup_flags)
{
	struct iovec vec = { .iov_base = (void __user *)addr, .iov_len = len };

	if (!mm || !(gup_flags & FOLL_WRITE) || len <= 0 ||
	    !mapex_current_may_wait())
		return NULL;
	return mapex_remote_lock(mm, &vec, 1);
}

/* the originals, pointed there before their hooks go in (hook.h) */
DEFINE_STATIC_CALL_NULL(mapex_orig_access_remote_vm,
			mapex_access_remote_vm_wrap);
DEFINE_STATIC_CALL_NULL(mapex_orig_ptrace_access_vm,
			mapex_ptrace_access_vm_wrap);

int mapex_access_remote_vm_wrap(struct mm_struct *mm, unsigned long addr,
				void *buf, int len, unsigned int gup_flags)
{
	struct mapex_rw_set *s;
	int ret = 0;		/* killed: nothing accessed */

	mapex_wrapper_enter();
	s = mapex_vm_write_lock(mm, addr, len, gup_flags);
	if (!IS_ERR(s)) {
		ret = static_call(mapex_orig_access_remote_vm)(mm, addr, buf,
							       len, gup_flags);
		mapex_remote_unlock(s);
	}
	mapex_wrapper_leave();
	return ret;
}

/*
 * A write into @tsk's memory under the set for it, through
 * access_process_vm() (exported: its ENDBR survives) or, for @ptrace,
 * ptrace_access_vm() (never address-taken: sealed on IBT builds).
 */
static int mapex_task_access(bool ptrace, struct task_struct *tsk,
			     unsigned long addr, void *buf, int len,
			     unsigned int gup_flags)
{
	struct mapex_hook *hook =
		&mapex_core_hooks[MAPEX_CORE_ACCESS_PROCESS_VM];
	struct mapex_rw_set *s = NULL;
	struct mm_struct *mm;
	int ret = 0;		/* killed: nothing accessed */

	mapex_wrapper_enter();
	if (gup_flags & FOLL_WRITE) {
		mm = get_task_mm(tsk);
		s = mapex_vm_write_lock(mm, addr, len, gup_flags);
		if (mm)
			mmput(mm);
	}
	if (!IS_ERR(s)) {
		if (ptrace)
			ret = static_call(mapex_orig_ptrace_access_vm)(tsk,
					addr, buf, len, gup_flags);
		else
			ret = MAPEX_ORIG(hook, mapex_access_process_vm_t)(tsk,
					addr, buf, len, gup_flags);
		mapex_remote_unlock(s);
	}
	mapex_wrapper_leave();
	return ret;
}

int mapex_access_process_vm_wrap(struct task_struct *tsk, unsigned long addr,
				 void *buf, int len, unsigned int gup_flags)
{
	return mapex_task_access(false, tsk, addr, buf, len, gup_flags);
}

/* PTRACE_POKEDATA and friends; on 6.1 it calls __access_remote_vm(). */
int mapex_ptrace_access_vm_wrap(struct task_struct *tsk, unsigned long addr,
				void *buf, int len, unsigned int gup_flags)
{
	return mapex_task_access(true, tsk, addr, buf, len, gup_flags);
}

/* The target of process_vm_writev(@pid): its mm, referenced, or NULL. */
static struct mm_struct *mapex_pid_mm(pid_t pid)
{
	struct task_struct *task;
	struct mm_struct *mm;

	rcu_read_lock();
	task = get_pid_task(find_vpid(pid), PIDTYPE_PID);
	rcu_read_unlock();
	if (!task)
		return NULL;
	mm = get_task_mm(task);
	put_task_struct(task);
	return mm;
}

/*
 * process_vm_writev(pid, lvec, liovcnt, rvec, riovcnt, flags), x86-64
 * system call entry: the arguments in di, si, dx, r10, r8, r9.
 */
long mapex_process_vm_writev_wrap(const struct pt_regs *regs)
{
	struct mapex_hook *hook =
		&mapex_core_hooks[MAPEX_CORE_PROCESS_VM_WRITEV];
	mapex_syscall_t orig = MAPEX_ORIG(hook, mapex_syscall_t);
	const struct iovec __user *rvec = (const void __user *)regs->r10;
	unsigned long riovcnt = regs->r8;
	struct mapex_rw_set *s = NULL;
	struct iovec *vec = NULL;
	struct mm_struct *mm;
	long ret;

	mapex_wrapper_enter();
	if (!riovcnt || riovcnt > UIO_MAXIOV || !mapex_current_may_wait())
		goto call;
	vec = kmalloc_array(riovcnt, sizeof(*vec), GFP_KERNEL);
	/* the original reports a bad vector, or a lack of memory */
	if (!vec || copy_from_user(vec, rvec, riovcnt * sizeof(*vec)))
		goto call;
	mm = mapex_pid_mm((pid_t)regs->di);
	if (mm) {
		s = mapex_remote_lock(mm, vec, riovcnt);
		mmput(mm);
	}
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
		goto out;
	}
call:
	ret = orig(regs);
	mapex_remote_unlock(s);
out:
	kfree(vec);
	mapex_wrapper_leave();
	return ret;
}

/*
 * O_DIRECT IO of a block device through @hook, under the FAULT set of the
 * guarded files its user buffer maps (NULL, the usual case: none).
 */
static ssize_t mapex_bdev_iter(struct mapex_hook *hook, struct kiocb *iocb,
			       struct iov_iter *iter)
{
	mapex_bdev_iter_t orig = MAPEX_ORIG(hook, mapex_bdev_iter_t);
	bool nowait = iocb->ki_flags & IOCB_NOWAIT;
	struct mapex_rw_set *s = NULL;
	ssize_t ret;

	mapex_wrapper_enter();
	if ((iocb->ki_flags & IOCB_DIRECT) && mapex_current_may_wait())
		s = mapex_remote_take(mapex_buffer_set(NULL, iter, nowait),
				      nowait);
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
	} else {
		ret = orig(iocb, iter);
		mapex_remote_unlock(s);
	}
	mapex_wrapper_leave();
	return ret;
}

ssize_t mapex_blkdev_read_iter_wrap(struct kiocb *iocb, struct iov_iter *to)
{
	return mapex_bdev_iter(&mapex_core_hooks[MAPEX_CORE_BLKDEV_READ_ITER],
			       iocb, to);
}

ssize_t mapex_blkdev_write_iter_wrap(struct kiocb *iocb,
				     struct iov_iter *from)
{
	return mapex_bdev_iter(&mapex_core_hooks[MAPEX_CORE_BLKDEV_WRITE_ITER],
			       iocb, from);
}
