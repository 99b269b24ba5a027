// SPDX-License-Identifier: GPL-2.0
/*
 * module/checkpoint.c - observe-only hooks that count, in "unguarded",
 * what reaches the page cache outside the rules:
 *
 * - inside functions that change the page cache under i_rwsem or
 *   invalidate_lock, where a range may not be taken (module/request.c,
 *   rule 4): an operation that arrives without the range it needs;
 * - the collision detector, where folios become dirty
 *   (__folio_mark_dirty): a folio dirtied under a direct write of
 *   *another* task.  That is the condition of cases 3 and 7 itself, whatever
 *   path led there, so it counts holes on paths nobody listed.  Writeback
 *   that gives a folio back its dirty bit (folio_redirty_for_writepage:
 *   ext4's journal commit does it under a direct write) dirties nothing
 *   new, and is told apart by a wrapper here.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/uio.h>

#include "interpose.h"
#include "trace.h"

static bool collision_check = true;
module_param(collision_check, bool, 0644);
MODULE_PARM_DESC(collision_check,
		 "count folios dirtied under another task's direct write range (default: 1)");

/*
 * The folio this CPU is giving its dirty bit back to, inside
 * folio_redirty_for_writepage() (with preemption off), or NULL.
 */
static DEFINE_PER_CPU(struct folio *, mapex_redirtying);

typedef bool (*mapex_folio_redirty_t)(struct writeback_control *wbc,
				      struct folio *folio);

/*
 * folio_redirty_for_writepage(): writeback cleared the dirty bit of @folio
 * (locked all along) for IO it then did not start, and sets it again.  No
 * data changed, so the collision detector lets it pass.  The original
 * does not sleep (writepage calls it under the folio lock, and it only
 * marks and accounts), so preemption stays off across it and the marker
 * belongs to this very call.
 */
bool mapex_folio_redirty_wrap(struct writeback_control *wbc,
			      struct folio *folio)
{
	struct mapex_hook *hook =
		&mapex_core_hooks[MAPEX_CORE_FOLIO_REDIRTY];
	bool ret;

	preempt_disable();
	this_cpu_write(mapex_redirtying, folio);
	ret = MAPEX_ORIG(hook, mapex_folio_redirty_t)(wbc, folio);
	this_cpu_write(mapex_redirtying, NULL);
	preempt_enable();
	return ret;
}

static void mapex_count_unguarded(struct mapex_profile *p, struct inode *inode,
				  u64 start, u64 end, unsigned int mode,
				  unsigned int checkpoint)
{
	mapex_count(p, MAPEX_CNT_UNGUARDED, mode);
	trace_mapex_unguarded(MAPEX_DEV(inode), inode->i_ino, start, end, mode,
			      checkpoint);
}

/*
 * A folio of @mapping over [start, end) becomes dirty: a collision if
 * another task holds DIRECT_WRITE over it, the condition of cases 3 and 7
 * itself (the direct write's invalidation then fails), whatever path led
 * there.  Not counted:
 * - dirtying under another task's INVAL: the filesystem orders truncate
 *   and punch against dirtying (cases 1, 2, 5, 6 are closed by the stock
 *   kernel), and a munmap() moving dirty PTE bits into folios while a
 *   punch runs is harmless, the punch discards them;
 * - additions of clean folios: on ext4 and xfs one added under a direct
 *   write is dropped by the write's post-write invalidation; btrfs can
 *   refuse to drop it, which is open (docs/locking.md).
 * Task context only: in an interrupt, "another task" means nothing.
 */
static void mapex_collision(struct mapex_hook *hook,
			    struct address_space *mapping, u64 start, u64 end)
{
	unsigned int modes = BIT(MAPEX_MODE_DIRECT_WRITE);
	struct mapex_profile *p;
	struct inode *inode;
	int holder;

	if (!READ_ONCE(collision_check) || !in_task() || irqs_disabled())
		return;
	if (!mapping || ((unsigned long)mapping & PAGE_MAPPING_FLAGS))
		return;
	inode = mapping->host;
	if (!inode || !S_ISREG(inode->i_mode))
		return;
	p = mapex_profile_of(inode);
	if (!p || !READ_ONCE(p->enabled))
		return;
	/* a page-cache range of this task over it excludes those already */
	if (mapex_current_covers(inode, start, end, BIT(MAPEX_MODE_FAULT) |
				 BIT(MAPEX_MODE_BUFFERED) |
				 BIT(MAPEX_MODE_INVAL)))
		return;
	holder = mapex_held_by_other(inode, start, end, modes);
	if (holder >= 0)
		mapex_count_unguarded(p, inode, start, end, holder, hook->id);
}

/*
 * Runs in ftrace context at the entry of a function that changes the page
 * cache under i_rwsem or invalidate_lock: count it if the current task
 * does not hold the range the operation needs.  Never sleeps.
 */
void mapex_checkpoint(struct mapex_hook *hook, struct ftrace_regs *fregs)
{
	unsigned long a0 = mapex_hook_arg(fregs, 0);
	unsigned long a1 = mapex_hook_arg(fregs, 1);
	unsigned long a2 = mapex_hook_arg(fregs, 2);
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
	case MAPEX_CP_DIRTY_FOLIO: {		/* (folio, mapping, warn) */
		struct folio *folio = (struct folio *)a0;

		if (this_cpu_read(mapex_redirtying) == folio)
			return;		/* writeback's own, nothing new */
		start = folio_pos(folio);
		mapex_collision(hook, (struct address_space *)a1, start,
				start + folio_size(folio));
		return;
	}
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
		/*
		 * A direct write's range covers a read of its own pages; a
		 * direct read into a mapping of its own file holds FAULT over
		 * both (module/buffer.c), which excludes more than
		 * DIRECT_READ does.
		 */
		mode = mapex_rw_mode(true, iov_iter_rw(iter) == WRITE);
		guards = BIT(mode) | BIT(MAPEX_MODE_DIRECT_WRITE) |
			 BIT(MAPEX_MODE_INVAL);
		if (mode == MAPEX_MODE_DIRECT_READ)
			guards |= BIT(MAPEX_MODE_FAULT);
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
	mapex_count_unguarded(p, inode, start, end, mode, hook->id);
}
