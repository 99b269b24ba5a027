// SPDX-License-Identifier: GPL-2.0
/*
 * module/inval.c - the operations that drop cached pages and take INVAL:
 * the ->fallocate wrapper (punch, zero, collapse, insert, and growing the
 * size), the truncate wrappers (do_truncate, or where that cannot be
 * hooked under IBT, vfs_truncate and the ftruncate system call), and the
 * ->remap_file_range wrapper
 * (reflink, dedupe: the destination's cache is dropped), and the
 * ->unlocked_ioctl wrapper for the ioctls that move extents under the page
 * cache (xfs swapext, ext4 move_ext: INVAL on both files) or rewrite a
 * range through it (btrfs defrag: BUFFERED).  fallocate and truncate
 * re-check the file size after the grant, because a truncate that ran
 * while they waited may have moved the range they need.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "interpose.h"

typedef long (*mapex_fallocate_t)(struct file *, int, loff_t, loff_t);
typedef int (*mapex_truncate_t)(void *, struct dentry *, loff_t,
				unsigned int, struct file *);
typedef loff_t (*mapex_remap_t)(struct file *, loff_t, struct file *, loff_t,
				loff_t, unsigned int);
typedef long (*mapex_ioctl_t)(struct file *, unsigned int, unsigned long);

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

int mapex_do_truncate_wrap(void *idmap, struct dentry *dentry, loff_t length,
			   unsigned int time_attrs, struct file *filp)
{
	mapex_truncate_t orig =
		MAPEX_ORIG(&mapex_core_hooks[MAPEX_CORE_DO_TRUNCATE],
			   mapex_truncate_t);
	struct mapex_hold h;
	int ret, got;

	mapex_wrapper_enter();
	got = mapex_truncate_lock(&h, d_inode(dentry), length);
	ret = got < 0 ? got : orig(idmap, dentry, length, time_attrs, filp);
	if (got > 0)
		mapex_release(&h);
	mapex_wrapper_leave();
	return ret;
}

/* Without do_truncate (IBT): truncate(2) and in-kernel path truncates. */
int mapex_vfs_truncate_wrap(const struct path *path, loff_t length)
{
	typedef int (*vfs_truncate_t)(const struct path *, loff_t);
	vfs_truncate_t orig =
		MAPEX_ORIG(&mapex_truncate_hooks[MAPEX_TRUNC_VFS_TRUNCATE],
			   vfs_truncate_t);
	struct mapex_hold h;
	int ret, got;

	mapex_wrapper_enter();
	got = mapex_truncate_lock(&h, d_inode(path->dentry), length);
	ret = got < 0 ? got : orig(path, length);
	if (got > 0)
		mapex_release(&h);
	mapex_wrapper_leave();
	return ret;
}

/*
 * Without do_truncate (IBT): ftruncate(2).  The file is looked up here
 * and again by the system call; if the descriptor is replaced in between,
 * the truncate runs on a file this range does not cover, and the
 * truncate_pagecache checkpoint counts it.
 */
long mapex_sys_ftruncate_wrap(const struct pt_regs *regs)
{
	typedef long (*sys_ftruncate_t)(const struct pt_regs *);
	sys_ftruncate_t orig =
		MAPEX_ORIG(&mapex_truncate_hooks[MAPEX_TRUNC_SYS_FTRUNCATE],
			   sys_ftruncate_t);
	struct file *file = fget((unsigned int)regs->di);
	struct mapex_hold h;
	long ret;
	int got = 0;

	mapex_wrapper_enter();
	if (file)
		got = mapex_truncate_lock(&h, file_inode(file), (loff_t)regs->si);
	ret = got < 0 ? got : orig(regs);
	if (got > 0)
		mapex_release(&h);
	if (file)
		fput(file);
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
	struct mapex_rw_set *s = kzalloc(sizeof(*s), GFP_KERNEL);

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

loff_t mapex_remap(struct mapex_profile *p, struct mapex_hook *hook,
		   struct file *file_in, loff_t pos_in, struct file *file_out,
		   loff_t pos_out, loff_t len, unsigned int remap_flags)
{
	mapex_remap_t orig = MAPEX_ORIG(hook, mapex_remap_t);
	struct inode *in = file_inode(file_in), *out = file_inode(file_out);
	struct mapex_rw_set *s = NULL;
	loff_t ret;
	int got;

	mapex_wrapper_enter();
	if (!READ_ONCE(p->enabled) || pos_in < 0 || pos_out < 0 || len < 0 ||
	    !S_ISREG(in->i_mode) || !S_ISREG(out->i_mode) ||
	    mapex_profile_of(in) != p)
		goto unguarded;
	s = mapex_pair_set(p, MAPEX_OP_REMAP, out, MAPEX_MODE_INVAL, pos_out,
			   mapex_end_of(pos_out, len), in,
			   MAPEX_MODE_DIRECT_READ, pos_in,
			   mapex_end_of(pos_in, len));
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	got = mapex_set_acquire(s, false);
	if (got < 0) {
		ret = got;
		goto out;
	}
	ret = orig(file_in, pos_in, file_out, pos_out, len, remap_flags);
	mapex_set_release(s, NULL);
	goto out;
unguarded:
	ret = orig(file_in, pos_in, file_out, pos_out, len, remap_flags);
out:
	kfree(s);	/* no file references: the caller holds both files */
	mapex_wrapper_leave();
	return ret;
}

/* ---- ioctls that move extents or rewrite a range --------------------------- */

/*
 * The user's argument is read here and again by the filesystem: a task
 * that changes it in between gets the ranges of what it wrote first.  That
 * is a program racing with itself; nothing of another task goes unguarded
 * by it except through that program's own files.
 */

/*
 * The ftrace filter of the ->unlocked_ioctl hooks (struct mapex_hook's
 * wants): only the commands decoded below enter the wrapper.
 */
bool mapex_ioctl_wanted(struct ftrace_regs *fregs)
{
	unsigned int cmd = mapex_hook_arg(fregs, 1);
	unsigned int type = _IOC_TYPE(cmd), nr = _IOC_NR(cmd);

	return (type == 'X' && (nr == 109 || nr == 129)) ||
	       (type == 'f' && nr == 15) ||
	       (type == 0x94 && (nr == 2 || nr == 16));
}

/*
 * xfs XFS_IOC_SWAPEXT ('X', 109: sx_version, sx_fdtarget, sx_fdtmp first)
 * swaps all extents of two whole files; XFS_IOC_EXCHANGE_RANGE ('X', 129,
 * 6.10 on: file1_fd first, the ioctl's own file is file2) exchanges
 * ranges of two files, taken whole here rather than decoding its flags.
 */
int mapex_xfs_ioctl_ranges(struct file *file, unsigned int cmd,
			   unsigned long arg, struct mapex_ioctl_range *r)
{
	s64 head[3];
	s32 file1_fd;

	if (_IOC_TYPE(cmd) != 'X')
		return 0;
	if (_IOC_NR(cmd) == 109) {
		if (copy_from_user(head, (void __user *)arg, sizeof(head)))
			return -EFAULT;
		r[0].fd = head[1];
		r[1].fd = head[2];
	} else if (_IOC_NR(cmd) == 129) {
		if (copy_from_user(&file1_fd, (void __user *)arg,
				   sizeof(file1_fd)))
			return -EFAULT;
		r[0].fd = file1_fd;
		r[1].own = true;
	} else {
		return 0;
	}
	r[0].mode = r[1].mode = MAPEX_MODE_INVAL;
	r[0].start = r[1].start = 0;
	r[0].end = r[1].end = U64_MAX;
	return 2;
}

/*
 * ext4 EXT4_IOC_MOVE_EXT ('f', 15, struct move_extent, in blocks): moves
 * the donor's blocks into the file, through both files' page cache.
 */
int mapex_ext4_ioctl_ranges(struct file *file, unsigned int cmd,
			    unsigned long arg, struct mapex_ioctl_range *r)
{
	struct {
		u32 reserved, donor_fd;
		u64 orig_start, donor_start, len, moved_len;
	} me;
	unsigned int bits = file_inode(file)->i_blkbits;

	if (_IOC_TYPE(cmd) != 'f' || _IOC_NR(cmd) != 15)
		return 0;
	if (copy_from_user(&me, (void __user *)arg, sizeof(me)))
		return -EFAULT;
	if (me.len > (U64_MAX >> bits) || me.orig_start > (U64_MAX >> bits) ||
	    me.donor_start > (U64_MAX >> bits))
		return 0;	/* the filesystem refuses it */
	r[0] = (struct mapex_ioctl_range){ .own = true,
		.mode = MAPEX_MODE_INVAL, .start = me.orig_start << bits,
		.end = mapex_end_of(me.orig_start << bits, me.len << bits) };
	r[1] = (struct mapex_ioctl_range){ .fd = me.donor_fd,
		.mode = MAPEX_MODE_INVAL, .start = me.donor_start << bits,
		.end = mapex_end_of(me.donor_start << bits, me.len << bits) };
	return 2;
}

/*
 * btrfs BTRFS_IOC_DEFRAG (0x94, 2: the whole file) and
 * BTRFS_IOC_DEFRAG_RANGE (0x94, 16, struct btrfs_ioctl_defrag_range_args:
 * start, len first): defrag reads the range into the page cache and
 * dirties it, a page-cache user like a buffered write.
 */
int mapex_btrfs_ioctl_ranges(struct file *file, unsigned int cmd,
			     unsigned long arg, struct mapex_ioctl_range *r)
{
	u64 range[2] = { 0, 0 };	/* start, len */

	if (_IOC_TYPE(cmd) != 0x94 || (_IOC_NR(cmd) != 2 && _IOC_NR(cmd) != 16))
		return 0;
	if (!S_ISREG(file_inode(file)->i_mode))
		return 0;	/* a subvolume's tree defrag: no file pages */
	if (_IOC_NR(cmd) == 16 && arg &&
	    copy_from_user(range, (void __user *)arg, sizeof(range)))
		return -EFAULT;
	r[0] = (struct mapex_ioctl_range){ .own = true,
		.mode = MAPEX_MODE_BUFFERED, .start = range[0],
		.end = mapex_end_of(range[0], range[1]) };
	return 1;
}

/* The file of @r, with a reference, or NULL if it is not one @p guards. */
static struct file *mapex_ioctl_file(struct mapex_profile *p,
				     struct file *own,
				     const struct mapex_ioctl_range *r)
{
	struct file *f = r->own ? get_file(own) : fget(r->fd);

	if (f && (!S_ISREG(file_inode(f)->i_mode) ||
		  mapex_profile_of(file_inode(f)) != p)) {
		fput(f);
		f = NULL;
	}
	return f;
}

long mapex_ioctl(struct mapex_profile *p, struct mapex_hook *hook,
		 struct file *file, unsigned int cmd, unsigned long arg)
{
	mapex_ioctl_t orig = MAPEX_ORIG(hook, mapex_ioctl_t);
	struct mapex_ioctl_range r[2] = {};
	struct file *f[2] = { NULL, NULL };
	struct mapex_rw_set *s = NULL;
	int n, i, got;
	long ret;

	mapex_wrapper_enter();
	n = READ_ONCE(p->enabled) ? p->ioctl_ranges(file, cmd, arg, r) : 0;
	for (i = 0; i < n; i++)
		f[i] = mapex_ioctl_file(p, file, &r[i]);
	/* a bad argument, or no file of ours: the filesystem's own answer */
	if (n <= 0 || (!f[0] && !f[1]))
		goto unguarded;
	if (!f[0]) {
		swap(f[0], f[1]);
		swap(r[0], r[1]);
	}
	s = mapex_pair_set(p, MAPEX_OP_REMAP, file_inode(f[0]), r[0].mode,
			   r[0].start, r[0].end,
			   f[1] ? file_inode(f[1]) : NULL, r[1].mode,
			   r[1].start, r[1].end);
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	got = mapex_set_acquire(s, false);
	if (got < 0) {
		ret = got;
		goto out;
	}
	ret = orig(file, cmd, arg);
	mapex_set_release(s, NULL);
	goto out;
unguarded:
	ret = orig(file, cmd, arg);
out:
	kfree(s);
	for (i = 0; i < 2; i++)
		if (f[i])
			fput(f[i]);
	mapex_wrapper_leave();
	return ret;
}
