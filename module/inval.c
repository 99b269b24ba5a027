// SPDX-License-Identifier: GPL-2.0
/*
 * module/inval.c - the operations that drop cached pages and take INVAL:
 * the ->fallocate wrapper (punch, zero, collapse, insert, and growing the
 * size), the do_truncate wrapper, the ->remap_file_range wrapper
 * (reflink, dedupe: the destination's cache is dropped), and the wrappers
 * of the functions that move extents under the page cache (xfs swapext
 * and exchange range, ext4 move_ext: INVAL on both files) or rewrite a
 * range through it (btrfs defrag: BUFFERED).  do_truncate and the
 * extent movers are never address-taken, so sealed on IBT builds: their
 * wrappers call them back by direct jumps (static calls, hook.h).
 * fallocate and truncate re-check the file size after the grant, because
 * a truncate that ran while they waited may have moved the range they
 * need.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/btrfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/slab.h>

#include "interpose.h"

typedef long (*mapex_fallocate_t)(struct file *, int, loff_t, loff_t);
typedef loff_t (*mapex_remap_t)(struct file *, loff_t, struct file *, loff_t,
				loff_t, unsigned int);

/*
 * Take INVAL over what @range_of says, given the size now, and widen and
 * retake while the size moves under the wait.  @range_of returns false
 * when the operation needs no range.  Returns 1 (locked), 0 (no range
 * needed, @h not registered), or -EINTR / -EDEADLK (@h registered).
 */
static int mapex_inval_lock(struct mapex_hold *h, struct mapex_profile *p,
			    struct inode *inode, unsigned int op,
			    bool (*range_of)(const void *arg, u64 isize,
					     u64 *start, u64 *end),
			    const void *arg)
{
	u64 start, end, s2, e2;
	int got;

	if (!range_of(arg, i_size_read(inode), &start, &end))
		return 0;
	for (;;) {
		mapex_span(inode, &start, &end);
		mapex_set_request(h, p, inode, op, MAPEX_MODE_INVAL, start, end);
		got = mapex_acquire(h, false);
		if (got < 0)
			return got;
		if (!range_of(arg, i_size_read(inode), &s2, &e2))
			return 1;
		mapex_span(inode, &s2, &e2);
		if (s2 >= start && e2 <= end)
			return 1;
		mapex_release(h);
		start = min(start, s2);
		end = max(end, e2);
	}
}

struct mapex_falloc_args {
	struct inode	*inode;
	int		mode;
	u64		off, len;
};

/*
 * The range a fallocate needs, given the size @isize; false if it needs
 * none (allocation inside EOF changes no cached data).
 */
static bool mapex_fallocate_range(const void *arg, u64 isize, u64 *start,
				  u64 *end)
{
	const struct mapex_falloc_args *a = arg;
	u64 bs = max_t(u64, i_blocksize(a->inode), PAGE_SIZE);

	*start = a->off;
	*end = a->off + a->len < a->off ? U64_MAX : a->off + a->len;
	if (a->mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
		/*
		 * A shift moves everything after @off, and xfs also flushes
		 * and drops the block before it to pin the split boundary.
		 */
		*start = round_down(a->off, bs);
		*start = *start >= bs ? *start - bs : 0;
		*end = U64_MAX;
	}
	if (!(a->mode & FALLOC_FL_KEEP_SIZE) && a->off + a->len > isize) {
		/*
		 * A new size goes through setattr: the page at the old EOF
		 * is zeroed and the cache past the new EOF truncated.
		 */
		*start = min(*start, isize);
		*end = U64_MAX;
		return true;
	}
	return a->mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
			  FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE);
}

long mapex_fallocate(struct mapex_profile *p, struct mapex_hook *hook,
		     struct file *file, int mode, loff_t off, loff_t len)
{
	mapex_fallocate_t orig = MAPEX_ORIG(hook, mapex_fallocate_t);
	struct mapex_falloc_args a = {
		.inode = file_inode(file), .mode = mode, .off = off, .len = len,
	};
	struct mapex_hold h;
	long ret;
	int got;

	mapex_wrapper_enter();
	if (!READ_ONCE(p->enabled) || off < 0 || len <= 0) {
		ret = orig(file, mode, off, len);
		goto out;
	}
	got = mapex_inval_lock(&h, p, a.inode, MAPEX_OP_FALLOCATE,
			       mapex_fallocate_range, &a);
	if (got < 0) {
		mapex_hold_unregister(&h);
		ret = got;
		goto out;
	}
	ret = orig(file, mode, off, len);
	if (got)
		mapex_release(&h);
out:
	mapex_wrapper_leave();
	return ret;
}

/* A truncate to @length drops the cache from min(length, size) on. */
static bool mapex_truncate_range(const void *arg, u64 isize, u64 *start,
				 u64 *end)
{
	*start = min(*(const u64 *)arg, isize);
	*end = U64_MAX;
	return true;
}

/*
 * Take INVAL for a truncate of @inode to @length, if it is guarded: 1
 * (locked, @h registered), 0 (not guarded), or -EINTR / -EDEADLK.
 */
static int mapex_truncate_lock(struct mapex_hold *h, struct inode *inode,
			       loff_t length)
{
	struct mapex_profile *p = inode ? mapex_profile_of(inode) : NULL;
	u64 len = length;
	int got;

	if (!p || !READ_ONCE(p->enabled) || length < 0 ||
	    !S_ISREG(inode->i_mode))
		return 0;
	got = mapex_inval_lock(h, p, inode, MAPEX_OP_TRUNCATE,
			       mapex_truncate_range, &len);
	if (got < 0)
		mapex_hold_unregister(h);
	return got;
}

/* do_truncate itself, pointed there before its hook goes in (hook.h) */
DEFINE_STATIC_CALL_NULL(mapex_orig_do_truncate, mapex_do_truncate_wrap);

int mapex_do_truncate_wrap(void *idmap, struct dentry *dentry, loff_t length,
			   unsigned int time_attrs, struct file *filp)
{
	struct mapex_hold h;
	int ret, got;

	mapex_wrapper_enter();
	got = mapex_truncate_lock(&h, d_inode(dentry), length);
	ret = got < 0 ? got : static_call(mapex_orig_do_truncate)(idmap, dentry,
					length, time_attrs, filp);
	if (got > 0)
		mapex_release(&h);
	mapex_wrapper_leave();
	return ret;
}

/*
 * reflink and dedupe: INVAL over the destination range (its cache is
 * dropped and its blocks replaced), DIRECT_READ over the source range (it
 * must not be truncated or punched meanwhile; its dirty pages are written
 * back first, which page-cache users may share), as a set in inode
 * address order (module/buffer.c); one INVAL over both when source and
 * destination are one file.  @len 0 means "to the end of the source".
 */
/*
 * A set of one range on each of two inodes of @p (@b may be NULL), in
 * inode address order as every set; one range over the union when both
 * are the same inode, in INVAL unless both modes agree.
 */
static struct mapex_rw_set *mapex_pair_set(struct mapex_profile *p,
					   unsigned int op, struct inode *a,
					   unsigned int ma, u64 sa, u64 ea,
					   struct inode *b, unsigned int mb,
					   u64 sb, u64 eb)
{
	struct mapex_rw_set *s = mapex_set_alloc(GFP_KERNEL);

	if (!s)
		return NULL;
	mapex_span(a, &sa, &ea);
	if (b)
		mapex_span(b, &sb, &eb);
	if (!b || a == b) {
		if (b) {
			ma = ma == mb ? ma : MAPEX_MODE_INVAL;
			sa = min(sa, sb);
			ea = max(ea, eb);
		}
		mapex_set_request(&s->h[0], p, a, op, ma, sa, ea);
		s->nr = 1;
	} else {
		mapex_set_request(&s->h[a > b], p, a, op, ma, sa, ea);
		mapex_set_request(&s->h[a < b], p, b, op, mb, sb, eb);
		s->nr = 2;
	}
	return s;
}

/* The end of [pos, pos + len), len 0 meaning "to the end of the file". */
static u64 mapex_end_of(u64 pos, u64 len)
{
	return len && pos + len > pos ? pos + len : U64_MAX;
}

/* @inode is a regular file that @p guards. */
static bool mapex_guards(struct mapex_profile *p, struct inode *inode)
{
	return inode && S_ISREG(inode->i_mode) && mapex_profile_of(inode) == p;
}

/*
 * Take the ranges of a two-file operation as a set (rule 11), leaving out
 * a file that @p does not guard (the filesystem refuses such a call).
 * Returns the set to give to mapex_pair_drop(), NULL if neither file is
 * guarded or @p is disabled (the call runs unguarded), or an ERR_PTR.
 */
static struct mapex_rw_set *mapex_pair_take(struct mapex_profile *p,
					    struct inode *a, unsigned int ma,
					    u64 sa, u64 ea, struct inode *b,
					    unsigned int mb, u64 sb, u64 eb)
{
	struct mapex_rw_set *s;
	int got;

	if (!READ_ONCE(p->enabled))
		return NULL;
	if (!mapex_guards(p, b))
		b = NULL;
	if (!mapex_guards(p, a)) {
		if (!b)
			return NULL;
		a = b;
		ma = mb;
		sa = sb;
		ea = eb;
		b = NULL;
	}
	s = mapex_pair_set(p, MAPEX_OP_REMAP, a, ma, sa, ea, b, mb, sb, eb);
	if (!s)
		return ERR_PTR(-ENOMEM);
	got = mapex_set_acquire(s, false);
	if (got < 0) {
		mapex_set_free(s);
		return ERR_PTR(got);
	}
	return s;
}

static void mapex_pair_drop(struct mapex_rw_set *s)
{
	if (!s)
		return;
	mapex_set_release(s, NULL);
	mapex_set_free(s);	/* no file references: the caller holds them */
}

loff_t mapex_remap(struct mapex_profile *p, struct mapex_hook *hook,
		   struct file *file_in, loff_t pos_in, struct file *file_out,
		   loff_t pos_out, loff_t len, unsigned int remap_flags)
{
	mapex_remap_t orig = MAPEX_ORIG(hook, mapex_remap_t);
	struct mapex_rw_set *s = NULL;
	loff_t ret;

	mapex_wrapper_enter();
	if (pos_in >= 0 && pos_out >= 0 && len >= 0)
		s = mapex_pair_take(p, file_inode(file_out), MAPEX_MODE_INVAL,
				    pos_out, mapex_end_of(pos_out, len),
				    file_inode(file_in), MAPEX_MODE_DIRECT_READ,
				    pos_in, mapex_end_of(pos_in, len));
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
	} else {
		ret = orig(file_in, pos_in, file_out, pos_out, len, remap_flags);
		mapex_pair_drop(s);
	}
	mapex_wrapper_leave();
	return ret;
}

/* ---- functions that move extents or rewrite a range ------------------------ */

/*
 * The ioctls that move extents under the page cache are guarded one call
 * below the ioctl, in the function that does the work: the ioctl takes
 * the filesystem's freeze protection (mnt_want_write_file) first, and a
 * range taken before it would order the two against ->write_iter, which
 * takes them the other way round (rule 13 of docs/locking.md).  Every
 * function below is called with freeze protection held, and without
 * i_rwsem.
 */

/*
 * The originals of the wrappers below: none is address-taken, so each is
 * sealed on IBT builds and called by a direct jump, pointed there before
 * its hook goes in (hook.h).
 */
DEFINE_STATIC_CALL_NULL(mapex_orig_xfs_ioc_swapext, mapex_xfs_ioctl_fn);
DEFINE_STATIC_CALL_NULL(mapex_orig_xfs_exchrange_contents, mapex_xfs_ioctl_fn);
DEFINE_STATIC_CALL_NULL(mapex_orig_ext4_move_extents,
			mapex_ext4_move_extents_fn);
DEFINE_STATIC_CALL_NULL(mapex_orig_btrfs_defrag_file, mapex_btrfs_defrag_fn);

/*
 * xfs_ioc_swapext(struct xfs_swapext *sxp), for XFS_IOC_SWAPEXT and its
 * 32-bit form: swaps all extents of two whole files, named by
 * sx_fdtarget and sx_fdtmp (private to xfs; its leading fields are
 * mirrored here).  Both files are held for the call and looked up again
 * by xfs: a task that swaps its fd table in between races with itself.
 */
struct mapex_xfs_swapext_head {
	s64	sx_version, sx_fdtarget, sx_fdtmp;
};

int mapex_xfs_swapext(struct mapex_profile *p, void *sxp)
{
	const struct mapex_xfs_swapext_head *head = sxp;
	struct file *target = fget((int)head->sx_fdtarget);
	struct file *tmp = fget((int)head->sx_fdtmp);
	struct mapex_rw_set *s = NULL;
	int ret;

	mapex_wrapper_enter();
	if (target && tmp)
		s = mapex_pair_take(p, file_inode(target), MAPEX_MODE_INVAL, 0,
				    U64_MAX, file_inode(tmp), MAPEX_MODE_INVAL,
				    0, U64_MAX);
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
	} else {
		ret = static_call(mapex_orig_xfs_ioc_swapext)(sxp);
		mapex_pair_drop(s);
	}
	mapex_wrapper_leave();
	if (tmp)
		fput(tmp);
	if (target)
		fput(target);
	return ret;
}

/*
 * xfs_exchrange_contents(struct xfs_exchrange *fxr), 6.10 on, for
 * XFS_IOC_EXCHANGE_RANGE and XFS_IOC_COMMIT_RANGE: exchanges ranges of
 * file1 and file2 (the struct's first fields; private to xfs).  Taken
 * whole, rather than decoding the to-EOF and dry-run flags.
 */
struct mapex_xfs_exchrange_head {
	struct file	*file1, *file2;
};

int mapex_xfs_exchange_range(struct mapex_profile *p, void *fxr)
{
	const struct mapex_xfs_exchrange_head *head = fxr;
	struct mapex_rw_set *s;
	int ret;

	mapex_wrapper_enter();
	s = mapex_pair_take(p, file_inode(head->file1), MAPEX_MODE_INVAL, 0,
			    U64_MAX, file_inode(head->file2), MAPEX_MODE_INVAL,
			    0, U64_MAX);
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
	} else {
		ret = static_call(mapex_orig_xfs_exchrange_contents)(fxr);
		mapex_pair_drop(s);
	}
	mapex_wrapper_leave();
	return ret;
}

/*
 * ext4_move_extents(), for EXT4_IOC_MOVE_EXT: moves @len blocks of the
 * donor into the file, through both files' page cache.
 */
int mapex_ext4_move_extents(struct mapex_profile *p, struct file *orig_file,
			    struct file *donor_file, u64 orig_blk,
			    u64 donor_blk, u64 len, u64 *moved_len)
{
	struct inode *inode = file_inode(orig_file);
	unsigned int bits = inode->i_blkbits;
	struct mapex_rw_set *s = NULL;
	int ret;

	mapex_wrapper_enter();
	/* beyond these ext4 refuses the call */
	if (len <= (U64_MAX >> bits) && orig_blk <= (U64_MAX >> bits) &&
	    donor_blk <= (U64_MAX >> bits))
		s = mapex_pair_take(p, inode, MAPEX_MODE_INVAL, orig_blk << bits,
				    mapex_end_of(orig_blk << bits, len << bits),
				    file_inode(donor_file), MAPEX_MODE_INVAL,
				    donor_blk << bits,
				    mapex_end_of(donor_blk << bits, len << bits));
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
	} else {
		ret = static_call(mapex_orig_ext4_move_extents)(orig_file,
				donor_file, orig_blk, donor_blk, len, moved_len);
		mapex_pair_drop(s);
	}
	mapex_wrapper_leave();
	return ret;
}

/*
 * btrfs_defrag_file(), for BTRFS_IOC_DEFRAG(_RANGE) and autodefrag (the
 * cleaner thread): reads [range->start, +range->len) into the page cache
 * and dirties it, a page-cache user like a buffered write.
 */
int mapex_btrfs_defrag(struct mapex_profile *p, struct inode *inode,
		       struct file_ra_state *ra,
		       struct btrfs_ioctl_defrag_range_args *range,
		       u64 newer_than, unsigned long max_to_defrag)
{
	struct mapex_rw_set *s;
	int ret;

	mapex_wrapper_enter();
	s = mapex_pair_take(p, inode, MAPEX_MODE_BUFFERED, range->start,
			    mapex_end_of(range->start, range->len), NULL, 0, 0,
			    0);
	if (IS_ERR(s)) {
		ret = PTR_ERR(s);
	} else {
		ret = static_call(mapex_orig_btrfs_defrag_file)(inode, ra,
				range, newer_than, max_to_defrag);
		mapex_pair_drop(s);
	}
	mapex_wrapper_leave();
	return ret;
}
