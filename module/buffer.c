// SPDX-License-Identifier: GPL-2.0
/*
 * module/buffer.c - a direct read whose user buffer lies in shared
 * mappings of guarded files: the set of ranges it takes before it starts.
 *
 * A direct read pins its user pages and the device writes into them; the
 * bio completion marks them dirty, possibly from a workqueue and long
 * after the fault that mapped them.  When those pages are page cache of a
 * file F (the buffer is a MAP_SHARED mapping of F), F's folios are dirtied
 * without any fault or page-cache call that a range could gate: a pin
 * taken by GUP's fast path does not even fault.  A direct write to F that
 * runs meanwhile then fails its invalidation (cases 3 and 7, through DMA).
 * A private mapping of F is no different for its first fault, which
 * reads F's page cache before it copies the page; a fault nested in the
 * read that does not fit is refused, and under a stream of direct writes
 * to F every redo would be refused again (EFAULT, or a short read).
 * So such a read takes FAULT over the pages of F it will write, for as
 * long as the IO runs (until completion for asynchronous IO), besides its
 * own DIRECT_READ range: the set below (and the block layer's late
 * re-dirtying, after the set is gone, takes FAULT itself:
 * module/redirty.c; the kernel's writes into a process's pages take a
 * set of their own, mapex_mm_set(): module/remote.c).  A read into F's
 * own mapping takes one FAULT range over the union (FAULT excludes what
 * DIRECT_READ excludes, and direct writes besides); a direct write from
 * elsewhere in its own file one INVAL range over the union.
 *
 * The ranges of a set are taken in inode address order, one per inode, each
 * waiting like an entry point (module/request.c, rule 1).  A set has room
 * for a few files in itself and grows on the heap past them: a buffer that
 * maps more guarded files than can be allocated for fails with ENOMEM
 * rather than run unguarded.  Buffered reads need none of this:
 * their user copy stores through the page table, which a direct write's
 * writeback write-protects, so each store into F after it faults and
 * takes FAULT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lockdep_types.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "interpose.h"
#include "kfeatures.h"

/* The current segment of a user-backed iterator: address and length. */
static void mapex_iter_segment(const struct iov_iter *i, unsigned long *addr,
			       size_t *len)
{
#ifdef HAVE_ITER_IOV
	*addr = (unsigned long)iter_iov_addr(i);
	*len = min(iov_iter_count(i), iter_iov_len(i));
#else
	if (iter_is_ubuf(i)) {
		*addr = (unsigned long)i->ubuf + i->iov_offset;
		*len = iov_iter_count(i);
	} else {
		struct iovec v = iov_iter_iovec(i);

		*addr = (unsigned long)v.iov_base;
		*len = v.iov_len;
	}
#endif
}

/*
 * Widen the request on @inode among @nr requests to cover [start, end):
 * that request, or NULL if there is none.  Also module/redirty.c's.
 */
struct mapex_hold *mapex_holds_widen(struct mapex_hold *h, unsigned int nr,
				     const struct inode *inode, u64 start,
				     u64 end)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (h[i].inode != inode)
			continue;
		h[i].start = min(h[i].start, start);
		h[i].end = max(h[i].end, end);
		return &h[i];
	}
	return NULL;
}

/* An empty set, with room for MAPEX_SET_INLINE requests in itself. */
struct mapex_rw_set *mapex_set_alloc(gfp_t gfp)
{
	struct mapex_rw_set *s = kzalloc(sizeof(*s), gfp);

	if (s) {
		s->h = s->h_inline;
		s->file = s->file_inline;
		s->cap = MAPEX_SET_INLINE;
	}
	return s;
}

/*
 * Room for one more request in the array *@h of @nr requests (capacity
 * *@cap) and its parallel *@file (if @file): both double, leaving
 * @h_inline (the caller's first array, never freed here) for the heap.
 * The requests must not be registered yet: they move.  0 or -ENOMEM.
 * Also module/redirty.c's.
 */
int mapex_holds_grow(struct mapex_hold **h, struct file ***file,
		     unsigned int nr, unsigned int *cap,
		     const struct mapex_hold *h_inline, gfp_t gfp)
{
	unsigned int n = *cap * 2;
	struct file **nfile = NULL;
	struct mapex_hold *nh;

	if (nr < *cap)
		return 0;
	nh = kmalloc_array(n, sizeof(*nh), gfp);
	if (file)
		nfile = kcalloc(n, sizeof(*nfile), gfp);
	if (!nh || (file && !nfile)) {
		kfree(nh);
		kfree(nfile);
		return -ENOMEM;
	}
	memcpy(nh, *h, nr * sizeof(*nh));
	if (file)
		memcpy(nfile, *file, nr * sizeof(*nfile));
	if (*h != h_inline) {
		kfree(*h);
		if (file)
			kfree(*file);
	}
	*h = nh;
	if (file)
		*file = nfile;
	*cap = n;
	return 0;
}

/*
 * Add [start, end) of @file to the set *@sp, merged with its inode's
 * entry; the set is allocated at the first file (most direct reads have
 * none), with @own (if any) as its first entry.  -ENOMEM, or 0.
 */
static int mapex_set_add(struct mapex_rw_set **sp, const struct mapex_hold *own,
			 struct mapex_profile *p, struct file *file,
			 u64 start, u64 end, gfp_t gfp)
{
	struct inode *inode = file_inode(file);
	bool own_write = own && own->op == MAPEX_OP_WRITE &&
			 inode == own->inode;
	struct mapex_rw_set *s = *sp;
	struct mapex_hold *h;

	mapex_span(inode, &start, &end);
	/*
	 * A direct write whose source lies in its own range: the read faults
	 * there only add clean folios that its invalidation drops, and they
	 * nest in its range (rule 2).
	 */
	if (own_write && start >= own->start && end <= own->end)
		return 0;
	if (!s) {
		s = mapex_set_alloc(gfp);
		if (!s)
			return -ENOMEM;
		if (own) {
			s->h[0] = *own;
			s->nr = 1;
		}
		*sp = s;
	}
	h = mapex_holds_widen(s->h, s->nr, inode, start, end);
	if (h) {
		/*
		 * The call's own inode: one range over both.  A read's is
		 * FAULT (which excludes what DIRECT_READ excludes, and
		 * direct writes besides).  A write's is INVAL: it must keep
		 * page-cache users out of its own range, and its faults on
		 * the source fit under it, so that GUP between the bios of
		 * an asynchronous write is never refused (it could not be
		 * redone).
		 */
		h->mode = own_write ? MAPEX_MODE_INVAL : MAPEX_MODE_FAULT;
		return 0;
	}
	if (mapex_holds_grow(&s->h, &s->file, s->nr, &s->cap, s->h_inline,
			     gfp))
		return -ENOMEM;
	mapex_set_request(&s->h[s->nr], p, inode, MAPEX_OP_FAULT,
			  MAPEX_MODE_FAULT, start, end);
	s->file[s->nr++] = get_file(file);
	return 0;
}

/* Walk the VMAs of [addr, addr + len) under mmap_lock: -ENOMEM or 0. */
static int mapex_set_add_vmas(struct mapex_rw_set **sp,
			      const struct mapex_hold *own,
			      struct mm_struct *mm, unsigned long addr,
			      size_t len, gfp_t gfp)
{
	unsigned long end = addr + len < addr ? ULONG_MAX : addr + len;
	struct vm_area_struct *vma;
	int err = 0;

	for (vma = find_vma(mm, addr); vma && vma->vm_start < end && !err;
	     vma = find_vma(mm, vma->vm_end)) {
		unsigned long a = max(addr, vma->vm_start);
		unsigned long b = min(end, vma->vm_end);
		struct mapex_profile *p;
		u64 off;

		/*
		 * Shared or private: a fault on a private page not yet
		 * copied reads it from the file's page cache too.
		 */
		p = vma->vm_file ? mapex_profile_of(file_inode(vma->vm_file)) :
				   NULL;
		if (p && READ_ONCE(p->enabled)) {
			off = ((u64)vma->vm_pgoff << PAGE_SHIFT) +
			      (a - vma->vm_start);
			err = mapex_set_add(sp, own, p, vma->vm_file, off,
					    off + (b - a), gfp);
		}
		/* the last VMA of the range: no second lookup past it */
		if (vma->vm_end >= end)
			break;
	}
	return err;
}

/*
 * Order @nr requests by inode address, the order a task that waits while
 * holding takes them in (rule 1), moving @file[] (if any) along; a handful
 * of entries: insertion sort.  Also module/redirty.c's.
 */
void mapex_holds_sort(struct mapex_hold *h, struct file **file,
		      unsigned int nr)
{
	unsigned int i, j;

	for (i = 1; i < nr; i++)
		for (j = i; j > 0 && (unsigned long)h[j - 1].inode >
				      (unsigned long)h[j].inode; j--) {
			swap(h[j - 1], h[j]);
			if (file)
				swap(file[j - 1], file[j]);
		}
}

/* A walk's result: @s in lock order, NULL, or ERR_PTR(@err) (@s freed). */
static struct mapex_rw_set *mapex_set_done(struct mapex_rw_set *s, int err)
{
	if (err) {
		if (s)
			mapex_set_free(s);
		return ERR_PTR(err);
	}
	if (s)
		mapex_holds_sort(s->h, s->file, s->nr);
	return s;
}

/*
 * The set of ranges a direct read of @own's request (or, with @own NULL,
 * a block device's direct IO: module/remote.c) into @iter needs, or NULL
 * if its buffer maps no guarded file (the usual case: @own alone).
 * ERR_PTR(-EINTR) if killed while waiting for mmap_lock, -EAGAIN if
 * @nowait and it is busy, -ENOMEM.
 */
struct mapex_rw_set *mapex_buffer_set(const struct mapex_hold *own,
				      const struct iov_iter *iter, bool nowait)
{
	struct mm_struct *mm = current->mm;
	gfp_t gfp = nowait ? GFP_NOWAIT : GFP_KERNEL;
	struct mapex_rw_set *s = NULL;
	struct iov_iter it = *iter;
	unsigned int segs = 0;
	int err = 0;

	if (!mm || !user_backed_iter(iter))
		return NULL;
	if (nowait ? !mmap_read_trylock(mm) : mmap_read_lock_killable(mm))
		return ERR_PTR(nowait ? -EAGAIN : -EINTR);
	while (iov_iter_count(&it) && segs++ < UIO_MAXIOV && !err) {
		unsigned long addr;
		size_t len;

		mapex_iter_segment(&it, &addr, &len);
		if (len)
			err = mapex_set_add_vmas(&s, own, mm, addr, len, gfp);
		iov_iter_advance(&it, len);
	}
	mmap_read_unlock(mm);
	return mapex_set_done(s, err && nowait ? -EAGAIN : err);
}

/*
 * The set of FAULT ranges over the guarded files @mm maps at the @nr
 * segments of @vec (no own entry): what the kernel writing into another
 * address space through pinned pages needs (module/remote.c).  NULL if
 * they map none, ERR_PTR(-EINTR) if killed waiting for mmap_lock, or
 * ERR_PTR(-ENOMEM).
 */
struct mapex_rw_set *mapex_mm_set(struct mm_struct *mm,
				  const struct iovec *vec, unsigned long nr)
{
	struct mapex_rw_set *s = NULL;
	unsigned long i;
	int err = 0;

	if (mmap_read_lock_killable(mm))
		return ERR_PTR(-EINTR);
	for (i = 0; i < nr && !err; i++)
		if (vec[i].iov_len)
			err = mapex_set_add_vmas(&s, NULL, mm,
						 (unsigned long)vec[i].iov_base,
						 vec[i].iov_len, GFP_KERNEL);
	mmap_read_unlock(mm);
	return mapex_set_done(s, err);
}

/*
 * Take every range of @s in order.  1 if all are held (or covered), 0 if
 * a @nowait request would block, -errno; on 0 and errors nothing is held.
 */
int mapex_set_acquire(struct mapex_rw_set *s, bool nowait)
{
	/* a task that held a range before the set may not wait (rule 2) */
	bool nested = mapex_current_holds();
	unsigned int i;
	int got = 1;

	for (i = 0; i < s->nr && got > 0; i++)
		got = i && !nested ? mapex_acquire_ordered(&s->h[i], nowait, i) :
				     mapex_acquire(&s->h[i], nowait);
	if (got > 0)
		return 1;
	while (i-- > 0)
		mapex_release(&s->h[i]);
	return got;
}

/*
 * The task no longer holds @s (an asynchronous IO takes it along): unlist
 * its records, and move a refusal noted in any of them to @to (if any).
 */
void mapex_set_disown(struct mapex_rw_set *s, struct mapex_hold *to)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++) {
		struct mapex_hold *h = &s->h[i];

		mapex_hold_unregister(h);
		if (to && h->refused && !to->refused_file) {
			to->refused = true;
			to->refused_file = h->refused_file;
			to->refused_start = h->refused_start;
			to->refused_end = h->refused_end;
			h->refused_file = NULL;
		}
		mapex_hold_forget_refusal(h);
	}
}

/* Disown @s (moving a refusal to @to) and release its ranges. */
void mapex_set_release(struct mapex_rw_set *s, struct mapex_hold *to)
{
	unsigned int i;

	mapex_set_disown(s, to);
	for (i = s->nr; i-- > 0;)
		if (s->h[i].state == MAPEX_HOLD_LOCKED)
			mapex_unlock_hold(&s->h[i]);
}

/* Drop the file references of @s and free it. */
void mapex_set_free(struct mapex_rw_set *s)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (s->file[i])
			fput(s->file[i]);
	if (s->h != s->h_inline) {
		kfree(s->h);
		kfree(s->file);
	}
	kfree(s);
}
