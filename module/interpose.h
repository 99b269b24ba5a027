/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/interpose.h - what the interposition files share: the
 * per-filesystem profiles (module/profile.c), taking and releasing ranges
 * (module/request.c), and the wrappers each file installs (module/rw.c,
 * module/aio.c, module/fault.c, module/inval.c, module/checkpoint.c).
 * module/sysfs.c reads the profiles' toggles and counters.
 */
#ifndef MAPEX_INTERPOSE_H
#define MAPEX_INTERPOSE_H

#include <linux/kobject.h>
#include <linux/percpu.h>

#include "hold.h"
#include "hook.h"
#include <mapex/modes.h>

struct file;
struct inode;
struct iov_iter;
struct kiocb;
struct module;
struct vm_fault;

/* Filesystem entry points, one hook each. */
enum mapex_entry {
	MAPEX_ENTRY_READ_ITER,
	MAPEX_ENTRY_WRITE_ITER,
	MAPEX_ENTRY_FAULT,		/* unused if the profile shares_fault */
	MAPEX_ENTRY_PAGE_MKWRITE,
	MAPEX_ENTRY_FALLOCATE,
	MAPEX_ENTRY_REMAP,		/* ->remap_file_range, where it exists */
	/* what moves or rewrites extents under the cache (an ioctl's work) */
	MAPEX_ENTRY_MOVE_EXTENTS,
	MAPEX_ENTRY_EXCHANGE_RANGE,	/* xfs, 6.10 on */
	MAPEX_ENTRY_READAHEAD,		/* ->readahead, where it must be */
	MAPEX_NR_ENTRIES,
};

/* Per-filesystem counters (docs/ABI/testing/sysfs-kernel-mapex). */
enum mapex_counter {
	MAPEX_CNT_ACQUIRED,		/* ranges granted */
	MAPEX_CNT_CONTENDED,		/* requests that had to wait */
	MAPEX_CNT_REFUSED,		/* faults that did not fit: failed fast */
	MAPEX_CNT_RETRY,		/* faults deferred or told to retry */
	MAPEX_CNT_REDO,			/* operations redone after a refusal */
	MAPEX_CNT_RA_SKIPPED,		/* readaheads not read for this mode */
	MAPEX_CNT_SETTLE_WAIT,		/* waits for folios still under IO */
	MAPEX_CNT_UNGUARDED,		/* reached the page cache unlocked */
	MAPEX_NR_COUNTERS,
};

struct mapex_fs_stats {
	u64 count[MAPEX_NR_COUNTERS][MAPEX_NR_MODES];
};

struct mapex_profile {
	const char		*fstype;	/* file_system_type.name */
	const char		*module;	/* module that provides it */
	struct mapex_hook	hooks[MAPEX_NR_ENTRIES];
	bool			shares_fault;	/* ->fault is filemap_fault */
	bool			selected;	/* named in filesystems= */
	bool			enabled;	/* sysfs toggle */
	bool			hooked;		/* hooks installed */
	bool			disabled_at_load; /* named in disabled= */
	int			hook_error;	/* last hooking failed, or 0 */
	/*
	 * The module whose file_system_types this profile guards (ext4's
	 * ext2 and ext3 included): set while hooked, NULL otherwise.
	 */
	struct module		*owner;
	struct file_system_type	*builtin_type;	/* if there is no owner */
	struct kobject		*kobj;
	struct mapex_fs_stats __percpu *stats;
};

extern struct mapex_profile mapex_profiles[];
extern const unsigned int mapex_nr_profiles;

/* The profile guarding @inode's filesystem, or NULL. */
struct mapex_profile *mapex_profile_of(const struct inode *inode);

static inline void mapex_count(struct mapex_profile *p, enum mapex_counter c,
			       unsigned int mode)
{
	this_cpu_inc(p->stats->count[c][mode]);
}

void mapex_profile_read_stats(struct mapex_profile *p,
			      struct mapex_fs_stats *sum);
/* The status of @p (sysfs "hooks" and "guarded"): sysfs_emit()ted to @buf. */
int mapex_profile_show_hooks(struct mapex_profile *p, char *buf);
int mapex_profile_show_guarded(struct mapex_profile *p, char *buf);
/* Set @p's toggle; -ENODEV (with the reason logged) if it cannot guard. */
int mapex_profile_enable(struct mapex_profile *p, bool on);

/* Core-kernel hooks (module/profile.c), by index. */
enum mapex_core_hook {
	MAPEX_CORE_FILEMAP_FAULT,
	MAPEX_CORE_DO_TRUNCATE,
	MAPEX_CORE_TRUNCATE_PAGECACHE,
	MAPEX_CORE_TRUNCATE_PAGECACHE_RANGE,
	MAPEX_CORE_IOMAP_DIO_RW,
	MAPEX_CORE_DIRTY_FOLIO,
	MAPEX_CORE_FOLIO_REDIRTY,	/* writeback's own: checkpoint.c */
	MAPEX_CORE_BIO_RELEASE_PAGES,	/* read pages dirtied late: redirty.c */
	MAPEX_CORE_ACCESS_REMOTE_VM,	/* kernel writes into a mm: remote.c */
	MAPEX_CORE_ACCESS_PROCESS_VM,
	MAPEX_CORE_PTRACE_ACCESS_VM,
	MAPEX_CORE_PROCESS_VM_WRITEV,
	MAPEX_CORE_BLKDEV_READ_ITER,	/* block device direct IO: remote.c */
	MAPEX_CORE_BLKDEV_WRITE_ITER,
	MAPEX_CORE_FILEMAP_SPLICE_READ,	/* 6.5 on: module/rw.c */
	MAPEX_CORE_INVALIDATE_PAGES2,	/* a direct write's: module/settle.c */
	MAPEX_NR_CORE_HOOKS,
};
extern struct mapex_hook mapex_core_hooks[MAPEX_NR_CORE_HOOKS];

/* ---- requests (module/request.c) ---------------------------------------- */

void mapex_span(const struct inode *inode, u64 *start, u64 *end);
void mapex_set_request(struct mapex_hold *h, struct mapex_profile *p,
		       struct inode *inode, unsigned int op,
		       unsigned int mode, u64 start, u64 end);
int mapex_acquire(struct mapex_hold *h, bool nowait);
int mapex_acquire_timeout(struct mapex_hold *h, long timeout);
int mapex_acquire_once(struct mapex_hold *h);
int mapex_acquire_ordered(struct mapex_hold *h, bool nowait,
			  unsigned int pos);
int mapex_try_nested(struct mapex_hold *h, unsigned int also_covers);
void mapex_refuse(struct mapex_hold *h);
void mapex_unlock_hold(struct mapex_hold *h);
void mapex_trace_release(const struct mapex_hold *h, u32 dev, u64 ino);
void mapex_release(struct mapex_hold *h);
int mapex_held_by_other(struct inode *inode, u64 start, u64 end,
			unsigned int modes);
int mapex_held_by_any(struct inode *inode, u64 start, u64 end,
		      unsigned int modes);
int mapex_requests_init(void);
void mapex_requests_exit(void);

/* ---- sets: a direct IO and the files its buffer maps (buffer.c) -------- */

/* Requests a set holds in itself; past them, it grows on the heap. */
#define MAPEX_SET_INLINE	4

struct mapex_rw_set {
	unsigned int		nr;	/* entries in h[], by inode address */
	unsigned int		cap;	/* room in h[] and file[] */
	struct mapex_hold	*h;	/* h_inline, or a larger array */
	struct file		**file;	/* NULL entry: the call's own */
	struct mapex_hold	h_inline[MAPEX_SET_INLINE];
	struct file		*file_inline[MAPEX_SET_INLINE];
};

struct mapex_rw_set *mapex_set_alloc(gfp_t gfp);
int mapex_holds_grow(struct mapex_hold **h, struct file ***file,
		     unsigned int nr, unsigned int *cap,
		     const struct mapex_hold *h_inline, gfp_t gfp);

struct mapex_rw_set *mapex_buffer_set(const struct mapex_hold *own,
				      const struct iov_iter *iter, bool nowait);
struct mapex_rw_set *mapex_mm_set(struct mm_struct *mm,
				  const struct iovec *vec, unsigned long nr);
struct mapex_hold *mapex_holds_widen(struct mapex_hold *h, unsigned int nr,
				     const struct inode *inode, u64 start,
				     u64 end);
void mapex_holds_sort(struct mapex_hold *h, struct file **file,
		      unsigned int nr);
int mapex_set_acquire(struct mapex_rw_set *s, bool nowait);
void mapex_set_disown(struct mapex_rw_set *s, struct mapex_hold *to);
void mapex_set_release(struct mapex_rw_set *s, struct mapex_hold *to);
void mapex_set_free(struct mapex_rw_set *s);

/* ---- the wrappers ------------------------------------------------------- */

/* module/rw.c */
ssize_t mapex_rw_iter(struct mapex_profile *p, struct mapex_hook *hook,
		      struct kiocb *iocb, struct iov_iter *iter, bool write);
struct pipe_inode_info;
ssize_t mapex_splice_read_wrap(struct file *in, loff_t *ppos,
			       struct pipe_inode_info *pipe, size_t len,
			       unsigned int flags);
unsigned int mapex_rw_mode(bool direct, bool write);
int mapex_rw_lock(struct mapex_hold *h, struct kiocb *iocb, size_t count,
		  bool write, bool nowait);
struct mapex_rw_set *mapex_rw_prepare(struct mapex_hold *h,
				      struct kiocb *iocb, struct iov_iter *iter,
				      bool nowait, bool redo);
int mapex_rw_set_acquire(struct mapex_rw_set *s, struct mapex_hold *h,
			 struct kiocb *iocb, size_t count, bool nowait);
/* module/aio.c */
ssize_t mapex_rw_async(struct mapex_hook *hook, struct kiocb *iocb,
		       struct iov_iter *iter, struct mapex_hold *req,
		       bool nowait);
void mapex_aio_exit(void);
/* module/fault.c */
vm_fault_t mapex_fault(struct mapex_profile *p, struct mapex_hook *hook,
		       struct vm_fault *vmf, unsigned int op);
vm_fault_t mapex_filemap_fault_wrap(struct vm_fault *vmf);
/* module/inval.c */
long mapex_fallocate(struct mapex_profile *p, struct mapex_hook *hook,
		     struct file *file, int mode, loff_t off, loff_t len);
int mapex_do_truncate_wrap(void *idmap, struct dentry *dentry, loff_t length,
			   unsigned int time_attrs, struct file *filp);
DECLARE_STATIC_CALL(mapex_orig_do_truncate, mapex_do_truncate_wrap);
loff_t mapex_remap(struct mapex_profile *p, struct mapex_hook *hook,
		   struct file *file_in, loff_t pos_in, struct file *file_out,
		   loff_t pos_out, loff_t len, unsigned int remap_flags);
/* the sealed originals of the wrappers below, called by static calls */
typedef int mapex_xfs_ioctl_fn(void *arg);
typedef int mapex_ext4_move_extents_fn(struct file *orig_file,
				       struct file *donor_file, u64 orig_blk,
				       u64 donor_blk, u64 len, u64 *moved_len);
struct btrfs_ioctl_defrag_range_args;
struct file_ra_state;
typedef int mapex_btrfs_defrag_fn(struct inode *inode,
				  struct file_ra_state *ra,
				  struct btrfs_ioctl_defrag_range_args *range,
				  u64 newer_than, unsigned long max_to_defrag);
DECLARE_STATIC_CALL(mapex_orig_xfs_ioc_swapext, mapex_xfs_ioctl_fn);
DECLARE_STATIC_CALL(mapex_orig_xfs_exchrange_contents, mapex_xfs_ioctl_fn);
DECLARE_STATIC_CALL(mapex_orig_ext4_move_extents, mapex_ext4_move_extents_fn);
DECLARE_STATIC_CALL(mapex_orig_btrfs_defrag_file, mapex_btrfs_defrag_fn);
int mapex_xfs_swapext(struct mapex_profile *p, void *sxp);
int mapex_xfs_exchange_range(struct mapex_profile *p, void *fxr);
int mapex_ext4_move_extents(struct mapex_profile *p, struct file *orig_file,
			    struct file *donor_file, u64 orig_blk,
			    u64 donor_blk, u64 len, u64 *moved_len);
int mapex_btrfs_defrag(struct mapex_profile *p, struct inode *inode,
		       struct file_ra_state *ra,
		       struct btrfs_ioctl_defrag_range_args *range,
		       u64 newer_than, unsigned long max_to_defrag);
/* module/readahead.c */
struct readahead_control;
void mapex_readahead(struct mapex_profile *p, struct mapex_hook *hook,
		     struct readahead_control *rac);
/* module/settle.c */
struct address_space;
int mapex_invalidate_pages2_wrap(struct address_space *mapping,
				 pgoff_t first, pgoff_t last);
/* module/checkpoint.c */
void mapex_checkpoint(struct mapex_hook *hook, struct ftrace_regs *fregs);
struct writeback_control;
struct folio;
bool mapex_folio_redirty_wrap(struct writeback_control *wbc,
			      struct folio *folio);
/* module/redirty.c */
struct bio;
void mapex_bio_release_pages_wrap(struct bio *bio, bool mark_dirty);
/* module/remote.c */
int mapex_access_remote_vm_wrap(struct mm_struct *mm, unsigned long addr,
				void *buf, int len, unsigned int gup_flags);
int mapex_access_process_vm_wrap(struct task_struct *tsk, unsigned long addr,
				 void *buf, int len, unsigned int gup_flags);
int mapex_ptrace_access_vm_wrap(struct task_struct *tsk, unsigned long addr,
				void *buf, int len, unsigned int gup_flags);
DECLARE_STATIC_CALL(mapex_orig_access_remote_vm, mapex_access_remote_vm_wrap);
DECLARE_STATIC_CALL(mapex_orig_ptrace_access_vm, mapex_ptrace_access_vm_wrap);
long mapex_process_vm_writev_wrap(const struct pt_regs *regs);
ssize_t mapex_blkdev_read_iter_wrap(struct kiocb *iocb, struct iov_iter *to);
ssize_t mapex_blkdev_write_iter_wrap(struct kiocb *iocb,
				     struct iov_iter *from);

#define MAPEX_DEV(inode)	((u32)(inode)->i_sb->s_dev)

int mapex_interpose_init(void);
void mapex_interpose_exit(void);
int mapex_sysfs_init(void);
void mapex_sysfs_exit(void);

#endif /* MAPEX_INTERPOSE_H */
