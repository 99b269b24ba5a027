// SPDX-License-Identifier: GPL-2.0
/*
 * module/inval.c - the operations that drop cached pages and take INVAL:
 * the ->fallocate wrapper (punch, zero, collapse, insert, and growing the
 * size), the truncate wrappers (do_truncate, or where that cannot be
 * hooked under IBT, vfs_truncate and the ftruncate system call), and the
 * ->remap_file_range wrapper
 * (reflink, dedupe: the destination's cache is dropped).  fallocate and
 * truncate re-check the file size after the grant, because a truncate
 * that ran while they waited may have moved the range they need.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/ptrace.h>
#include <linux/slab.h>

#include "interpose.h"

typedef long (*mapex_fallocate_t)(struct file *, int, loff_t, loff_t);
typedef int (*mapex_truncate_t)(void *, struct dentry *, loff_t,
				unsigned int, struct file *);
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
loff_t mapex_remap(struct mapex_profile *p, struct mapex_hook *hook,
		   struct file *file_in, loff_t pos_in, struct file *file_out,
		   loff_t pos_out, loff_t len, unsigned int remap_flags)
{
	mapex_remap_t orig = MAPEX_ORIG(hook, mapex_remap_t);
	struct inode *in = file_inode(file_in), *out = file_inode(file_out);
	struct mapex_rw_set *s = NULL;
	u64 s0, e0, s1, e1;
	loff_t ret;
	int got;

	mapex_wrapper_enter();
	if (!READ_ONCE(p->enabled) || pos_in < 0 || pos_out < 0 || len < 0 ||
	    !S_ISREG(in->i_mode) || !S_ISREG(out->i_mode) ||
	    mapex_profile_of(in) != p)
		goto unguarded;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	s0 = pos_out;
	e0 = len && pos_out + len > pos_out ? pos_out + len : U64_MAX;
	s1 = pos_in;
	e1 = len && pos_in + len > pos_in ? pos_in + len : U64_MAX;
	mapex_span(out, &s0, &e0);
	mapex_span(in, &s1, &e1);
	if (in == out) {
		mapex_set_request(&s->h[0], p, out, MAPEX_OP_REMAP,
				  MAPEX_MODE_INVAL, min(s0, s1), max(e0, e1));
		s->nr = 1;
	} else {
		/* in inode address order, as every set */
		struct mapex_hold *d = &s->h[in < out], *r = &s->h[in > out];

		mapex_set_request(d, p, out, MAPEX_OP_REMAP, MAPEX_MODE_INVAL,
				  s0, e0);
		mapex_set_request(r, p, in, MAPEX_OP_REMAP,
				  MAPEX_MODE_DIRECT_READ, s1, e1);
		s->nr = 2;
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
