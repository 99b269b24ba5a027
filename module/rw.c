// SPDX-License-Identifier: GPL-2.0
/*
 * module/rw.c - the ->read_iter / ->write_iter wrapper: buffered and
 * direct IO take their range over the folios they touch, and an operation
 * whose user copy or GUP was refused a nested fault (module/request.c,
 * rule 2) keeps what it did, releases its range and redoes the rest where
 * it may wait: a read under its buffer's set (the ranges of the guarded
 * files its buffer maps, module/buffer.c), so that its faults fit; a write
 * after faulting its source in.  Direct IO takes its buffer's set from the
 * start, reads and writes alike, so that its GUP faults fit at once: an
 * asynchronous one cannot be redone once part of it is queued.
 * Asynchronous direct IO is handed to module/aio.c.  Also the splice read
 * that fills the cache without ->read_iter (6.5 on).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pipe_fs_i.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>

#include "interpose.h"

typedef ssize_t (*mapex_rw_iter_t)(struct kiocb *, struct iov_iter *);

/*
 * A refusal never needs more rounds than this without progress: a read's
 * redo holds the ranges its faults need, and each round of a write faults
 * in the refused range under its own grant.  Only a mapping replaced
 * between rounds, or (buffered writes, and direct writes from their own
 * file) a conflicting operation that invalidates the source pages again
 * between the fault-in and the redo, every time, runs into the limit; the operation then returns what it did, or -EFAULT, as a copy
 * from an unmapped page would.
 */
#define MAPEX_REDO_LIMIT	16

/* The mode of a ->read_iter / ->write_iter call (docs/rangelock.md). */
unsigned int mapex_rw_mode(bool direct, bool write)
{
	if (!direct)
		return MAPEX_MODE_BUFFERED;
	return write ? MAPEX_MODE_DIRECT_WRITE : MAPEX_MODE_DIRECT_READ;
}

/*
 * The range and mode of a read or write of @count bytes at iocb->ki_pos,
 * for the file size now.
 */
static unsigned int mapex_rw_range(struct kiocb *iocb, size_t count,
				   bool write, u64 *start, u64 *end)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	unsigned int mode = mapex_rw_mode(iocb->ki_flags & IOCB_DIRECT, write);
	u64 isize = i_size_read(inode);
	u64 pos = iocb->ki_pos;

	*start = pos;
	*end = pos + count < pos ? U64_MAX : pos + count;
	if (write && (iocb->ki_flags & IOCB_APPEND)) {
		/* The position is decided under i_rwsem: lock from EOF on. */
		*start = isize;
		*end = U64_MAX;
	} else if (write && pos + count > isize) {
		/*
		 * Extending: the write zeroes the cached gap from the old EOF
		 * and may drop the cache from there on (xfs delalloc).  A
		 * direct write that starts past EOF zeroes that gap through
		 * the page cache (xfs_file_write_checks(), after draining all
		 * direct IO of the file): a page-cache change that another
		 * direct write over the gap must not share, so it takes INVAL.
		 */
		*start = min(*start, isize);
		*end = U64_MAX;
		if (mode == MAPEX_MODE_DIRECT_WRITE && pos > isize)
			mode = MAPEX_MODE_INVAL;
	}
	mapex_span(inode, start, end);
	return mode;
}

/*
 * After a grant of [*start, *end) in *mode: does it still cover a @write of
 * @count bytes at iocb->ki_pos for the file size now?  If not, widen the
 * request and strengthen its mode for the next round.
 */
static bool mapex_rw_covers(struct kiocb *iocb, size_t count, bool write,
			    u64 *start, u64 *end, unsigned int *mode)
{
	unsigned int mode2;
	u64 s2, e2;

	mode2 = mapex_rw_range(iocb, count, write, &s2, &e2);
	if (s2 >= *start && e2 <= *end &&
	    (mode2 == *mode || *mode == MAPEX_MODE_INVAL))
		return true;
	*start = min(*start, s2);
	*end = max(*end, e2);
	if (mode2 == MAPEX_MODE_INVAL)
		*mode = mode2;
	return false;
}

/*
 * Take the range of the call for @h (registered by this call), as
 * mapex_rw_prepare() put it in @h, widening it and strengthening its
 * mode while the file size moves under the wait.  As mapex_acquire().
 */
int mapex_rw_lock(struct mapex_hold *h, struct kiocb *iocb, size_t count,
		  bool write, bool nowait)
{
	unsigned int mode = h->mode;
	u64 start = h->start, end = h->end;
	int got;

	for (;;) {
		h->start = start;
		h->end = end;
		h->mode = mode;
		got = mapex_acquire(h, nowait);
		if (got <= 0)
			return got;
		/* The size may have moved while we waited: still covered? */
		if (mapex_rw_covers(iocb, count, write, &start, &end, &mode))
			return 1;
		mapex_release(h);
	}
}

/*
 * Put the range and mode of the call in @h, for the file size now, and
 * return its direct read's or write's set (module/buffer.c), or NULL when
 * it takes @h alone.  With @redo, a buffered read takes one too: the round
 * after one of its nested faults was refused.
 */
struct mapex_rw_set *mapex_rw_prepare(struct mapex_hold *h,
				      struct kiocb *iocb, struct iov_iter *iter,
				      bool nowait, bool redo)
{
	bool write = h->op == MAPEX_OP_WRITE;

	h->mode = mapex_rw_range(iocb, iov_iter_count(iter), write, &h->start,
				 &h->end);
	if (!(iocb->ki_flags & IOCB_DIRECT) && !(redo && !write))
		return NULL;
	return mapex_buffer_set(h, iter, nowait);
}

/*
 * Take the set @s of the call for @h: a write's own range (the entry
 * without a file) is re-checked against the file size after the grant,
 * as mapex_rw_lock() does, and the set taken again, wider, if it moved.
 * As mapex_set_acquire().
 */
int mapex_rw_set_acquire(struct mapex_rw_set *s, struct mapex_hold *h,
			 struct kiocb *iocb, size_t count, bool nowait)
{
	struct mapex_hold *own = NULL;
	unsigned int i;
	int got;

	for (i = 0; h->op == MAPEX_OP_WRITE && i < s->nr; i++)
		if (!s->file[i])
			own = &s->h[i];
	for (;;) {
		u64 start, end;
		unsigned int mode;

		got = mapex_set_acquire(s, nowait);
		if (got <= 0 || !own)
			return got;
		start = own->start;
		end = own->end;
		mode = own->mode;
		if (mapex_rw_covers(iocb, count, true, &start, &end, &mode))
			return 1;
		mapex_set_release(s, NULL);
		own->start = start;
		own->end = end;
		own->mode = mode;
	}
}

/* One synchronous attempt with a set: take it, run the original, release. */
static ssize_t mapex_rw_sync_set(struct mapex_hook *hook, struct kiocb *iocb,
				 struct iov_iter *iter, struct mapex_hold *h,
				 struct mapex_rw_set *s, bool nowait)
{
	ssize_t ret;
	int got;

	got = mapex_rw_set_acquire(s, h, iocb, iov_iter_count(iter), nowait);
	if (got <= 0) {
		mapex_set_free(s);
		return got ? got : -EAGAIN;
	}
	ret = MAPEX_ORIG(hook, mapex_rw_iter_t)(iocb, iter);
	mapex_set_release(s, h);
	mapex_set_free(s);
	return ret;
}

/*
 * One synchronous attempt: take the range (with its buffer's set for a
 * direct read, or a read's @redo), run the original, release.
 */
static ssize_t mapex_rw_sync(struct mapex_hook *hook, struct kiocb *iocb,
			     struct iov_iter *iter, struct mapex_hold *h,
			     bool nowait, bool redo)
{
	struct mapex_rw_set *s;
	ssize_t ret;
	int got;

	if (!READ_ONCE(h->profile->enabled)) {
		/*
		 * Unguarded, but listed, so that a nested fault refused on a
		 * file that is guarded is noted here and redone.
		 */
		mapex_hold_register(h);
		WRITE_ONCE(h->state, MAPEX_HOLD_BYPASS);
		ret = MAPEX_ORIG(hook, mapex_rw_iter_t)(iocb, iter);
		mapex_hold_unregister(h);
		return ret;
	}
	s = mapex_rw_prepare(h, iocb, iter, nowait, redo);
	if (IS_ERR(s))
		return PTR_ERR(s);
	if (s)
		return mapex_rw_sync_set(hook, iocb, iter, h, s, nowait);
	got = mapex_rw_lock(h, iocb, iov_iter_count(iter),
			    h->op == MAPEX_OP_WRITE, nowait);
	if (got <= 0) {
		mapex_hold_unregister(h);
		return got ? got : -EAGAIN;
	}
	ret = MAPEX_ORIG(hook, mapex_rw_iter_t)(iocb, iter);
	mapex_release(h);
	return ret;
}

/*
 * Fault in the source buffer of a refused write where waiting is allowed:
 * the task holds no range now, so it waits for the refused range like any
 * entry point (rule 1), then faults the rest of @iter in while holding it,
 * so that the nested faults there fit.  Faults elsewhere that do not fit
 * are refused again and handled by the next round.
 */
static int mapex_rw_fault_in(struct mapex_hold *ref, struct iov_iter *iter)
{
	struct inode *inode = file_inode(ref->refused_file);
	struct mapex_profile *p = mapex_profile_of(inode);
	size_t count = iov_iter_count(iter);
	bool guarded = p && READ_ONCE(p->enabled);
	struct mapex_hold fh;
	int got = 1;

	if (guarded) {
		mapex_set_request(&fh, p, inode, MAPEX_OP_FAULT,
				  MAPEX_MODE_FAULT, ref->refused_start,
				  ref->refused_end);
		got = mapex_acquire(&fh, false);
	}
	if (got > 0)
		fault_in_iov_iter_readable(iter, count);
	if (guarded) {
		mapex_release(&fh);
		mapex_hold_forget_refusal(&fh);
	}
	mapex_hold_forget_refusal(ref);
	return got < 0 ? got : 0;
}

ssize_t mapex_rw_iter(struct mapex_profile *p, struct mapex_hook *hook,
		      struct kiocb *iocb, struct iov_iter *iter, bool write)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	bool direct = iocb->ki_flags & IOCB_DIRECT;
	bool nowait = iocb->ki_flags & IOCB_NOWAIT;
	bool async = direct && !is_sync_kiocb(iocb);
	unsigned int op = write ? MAPEX_OP_WRITE : MAPEX_OP_READ;
	unsigned int mode = mapex_rw_mode(direct, write);
	unsigned int stuck = 0;
	ssize_t ret, done = 0;
	struct mapex_hold h;

	mapex_wrapper_enter();
	if (!iov_iter_count(iter) || !S_ISREG(inode->i_mode)) {
		ret = MAPEX_ORIG(hook, mapex_rw_iter_t)(iocb, iter);
		goto out;
	}
	for (;;) {
		struct iov_iter saved = *iter;
		loff_t pos = iocb->ki_pos;

		mapex_set_request(&h, p, inode, op, mode, 0, 0);
		if (async && READ_ONCE(p->enabled))
			ret = mapex_rw_async(hook, iocb, iter, &h, nowait);
		else
			ret = mapex_rw_sync(hook, iocb, iter, &h, nowait,
					    stuck || done);
		if (!h.refused)
			break;
		/*
		 * A nested fault was refused.  Keep what the filesystem did
		 * (ki_pos moved with it) and put the iterator where that
		 * leaves it, whatever the filesystem did to it on failure.
		 */
		if (ret > 0) {
			done += ret;
			iov_iter_advance(&saved, ret);
			stuck = 0;
			ret = 0;	/* counted in done */
		} else {
			iocb->ki_pos = pos;
			stuck++;
		}
		*iter = saved;
		if ((ret < 0 && ret != -EFAULT) || ret == -EIOCBQUEUED ||
		    (async && done) || !user_backed_iter(iter) ||
		    !iov_iter_count(iter) || stuck > MAPEX_REDO_LIMIT ||
		    fatal_signal_pending(current)) {
			mapex_hold_forget_refusal(&h);
			break;
		}
		mapex_count(p, MAPEX_CNT_REDO, h.mode);
		/*
		 * A read redoes under its buffer's set, where the faults that
		 * were refused fit (a stream of direct writes to the mapped
		 * file could refuse them round after round); a write's source
		 * pages are faulted in (read) while waiting is allowed.
		 */
		if (write) {
			ret = mapex_rw_fault_in(&h, iter);
			if (ret < 0)
				break;
		} else {
			mapex_hold_forget_refusal(&h);
		}
	}
	if (done)
		ret = ret > 0 ? done + ret : done;
out:
	mapex_wrapper_leave();
	return ret;
}

typedef ssize_t (*mapex_splice_read_t)(struct file *, loff_t *,
				       struct pipe_inode_info *, size_t,
				       unsigned int);

/*
 * filemap_splice_read() (6.5 on: ->splice_read of ext4, xfs and btrfs,
 * used by splice, sendfile and the copy_file_range fallback) fills the
 * page cache as a buffered read does, without passing ->read_iter (6.1's
 * splice still goes through ->read_iter).  It takes BUFFERED over what one
 * call can read: at most the pipe's free slots, one page each, as
 * filemap_splice_read() itself limits it.  The pipe is locked by the
 * caller, or private to it (do_splice_direct): a pipe lock ranks above
 * the range lock already (a splice write to a guarded file takes its range
 * in ->write_iter under it; docs/locking.md, rule 15).  It copies no user
 * memory, so no nested fault can be refused in it.
 */
ssize_t mapex_splice_read_wrap(struct file *in, loff_t *ppos,
			       struct pipe_inode_info *pipe, size_t len,
			       unsigned int flags)
{
	struct mapex_hook *hook = &mapex_core_hooks[MAPEX_CORE_FILEMAP_SPLICE_READ];
	mapex_splice_read_t orig = MAPEX_ORIG(hook, mapex_splice_read_t);
	struct inode *inode = file_inode(in);
	struct mapex_profile *p = mapex_profile_of(inode);
	unsigned int slots;
	struct mapex_hold h;
	ssize_t ret;
	u64 start;
	int got;

	mapex_wrapper_enter();
	if (!p || !READ_ONCE(p->enabled) || !len || !S_ISREG(inode->i_mode) ||
	    *ppos < 0) {
		ret = orig(in, ppos, pipe, len, flags);
		goto out;
	}
	slots = pipe->max_usage - min(pipe_occupancy(pipe->head, pipe->tail),
				      pipe->max_usage);
	len = min_t(size_t, len, (size_t)max(slots, 1U) << PAGE_SHIFT);
	start = *ppos;
	mapex_set_request(&h, p, inode, MAPEX_OP_READ, MAPEX_MODE_BUFFERED,
			  start, start + len);
	mapex_span(inode, &h.start, &h.end);
	got = mapex_acquire(&h, false);
	if (got <= 0) {
		mapex_hold_unregister(&h);
		ret = got ? got : -EAGAIN;
		goto out;
	}
	ret = orig(in, ppos, pipe, len, flags);
	mapex_release(&h);
out:
	mapex_wrapper_leave();
	return ret;
}
