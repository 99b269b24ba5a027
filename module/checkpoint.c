// SPDX-License-Identifier: GPL-2.0
/*
 * module/checkpoint.c - observe-only hooks inside functions that change
 * the page cache under i_rwsem or invalidate_lock, where a range may not
 * be taken (module/request.c, rule 4): each counts and traces an operation
 * that arrives without the range it needs, so that a path nobody listed
 * shows up in the "unguarded" counter.
 */
#include <linux/fs.h>
#include <linux/uio.h>

#include "interpose.h"
#include "trace.h"

/*
 * Runs in ftrace context at the entry of a function that changes the page
 * cache under i_rwsem or invalidate_lock: count it if the current task
 * does not hold the range the operation needs.  Never sleeps.
 */
void mapex_checkpoint(struct mapex_hook *hook, struct pt_regs *regs)
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
	mapex_count(p, MAPEX_CNT_UNGUARDED, mode);
	trace_mapex_unguarded(MAPEX_DEV(inode), inode->i_ino, start, end, mode,
			      hook->id);
}
