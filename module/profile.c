// SPDX-License-Identifier: GPL-2.0
/*
 * module/profile.c - which filesystems mapex guards and how: the profile
 * table (entry points per filesystem, with one wrapper stub each), the
 * core-kernel hooks, finding an inode's profile, the filesystems= and
 * disabled= parameters, installing the hooks, the module notifier that
 * hooks a filesystem when its module loads and unhooks it when it goes,
 * and the status of each filesystem's hooks (sysfs "hooks", "guarded").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "interpose.h"

/*
 * Hooked/selected state.  Lock order (docs/locking.md, rule 12):
 * module_notify_list rwsem -> mapex_profiles_mutex -> ftrace's locks, and
 * -> cpus_read_lock, static_call_mutex, text_mutex (a sealed original's
 * static call is pointed at it while its hook is resolved, hook.c).
 */
static DEFINE_MUTEX(mapex_profiles_mutex);

#define MAPEX_HOOK(sym, fn)	{ .symbol = sym, .wrapper = fn }

/*
 * One stub per (filesystem, entry point): the stub knows which original to
 * call.  The logic lives in the generic functions above.
 */
#define MAPEX_FS_WRAPPERS(fs, idx)					\
static ssize_t fs##_read_iter_wrap(struct kiocb *iocb, struct iov_iter *to) \
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_rw_iter(p, &p->hooks[MAPEX_ENTRY_READ_ITER], iocb, to, false); \
}									\
static ssize_t fs##_write_iter_wrap(struct kiocb *iocb, struct iov_iter *from) \
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_rw_iter(p, &p->hooks[MAPEX_ENTRY_WRITE_ITER], iocb, from, true); \
}									\
static vm_fault_t fs##_page_mkwrite_wrap(struct vm_fault *vmf)		\
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_fault(p, &p->hooks[MAPEX_ENTRY_PAGE_MKWRITE], vmf, MAPEX_OP_MKWRITE); \
}									\
static long fs##_fallocate_wrap(struct file *file, int mode, loff_t off, \
				loff_t len)				\
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_fallocate(p, &p->hooks[MAPEX_ENTRY_FALLOCATE], file, mode, off, len); \
}									\
static __maybe_unused loff_t fs##_remap_wrap(struct file *in, loff_t pos_in, \
					     struct file *out, loff_t pos_out, \
					     loff_t len, unsigned int flags) \
{									\
	struct mapex_profile *p = &mapex_profiles[idx];			\
	return mapex_remap(p, &p->hooks[MAPEX_ENTRY_REMAP], in, pos_in, out, \
			   pos_out, len, flags);			\
}
enum { MAPEX_FS_EXT4, MAPEX_FS_XFS, MAPEX_FS_BTRFS };
MAPEX_FS_WRAPPERS(ext4, MAPEX_FS_EXT4)
MAPEX_FS_WRAPPERS(xfs, MAPEX_FS_XFS)

/* xfs has its own ->fault; ext4 and btrfs share the filemap_fault hook. */
static vm_fault_t xfs_fault_wrap(struct vm_fault *vmf)
{
	struct mapex_profile *p = &mapex_profiles[MAPEX_FS_XFS];

	return mapex_fault(p, &p->hooks[MAPEX_ENTRY_FAULT], vmf, MAPEX_OP_FAULT);
}
MAPEX_FS_WRAPPERS(btrfs, MAPEX_FS_BTRFS)

/* btrfs's reads keep extents locked past the folios (module/readahead.c). */
static void btrfs_readahead_wrap(struct readahead_control *rac)
{
	struct mapex_profile *p = &mapex_profiles[MAPEX_FS_BTRFS];

	mapex_readahead(p, &p->hooks[MAPEX_ENTRY_READAHEAD], rac);
}

/*
 * The functions that move or rewrite extents: one per filesystem.  None is
 * address-taken, so IBT builds seal them all: their hooks carry a direct
 * way back (MAPEX_DIRECT, hook.h), the static calls of module/inval.c.
 */
static int xfs_swapext_wrap(void *sxp)
{
	return mapex_xfs_swapext(&mapex_profiles[MAPEX_FS_XFS], sxp);
}

static int xfs_exchange_range_wrap(void *fxr)
{
	return mapex_xfs_exchange_range(&mapex_profiles[MAPEX_FS_XFS], fxr);
}

static int ext4_move_extents_wrap(struct file *orig_file,
				  struct file *donor_file, u64 orig_blk,
				  u64 donor_blk, u64 len, u64 *moved_len)
{
	return mapex_ext4_move_extents(&mapex_profiles[MAPEX_FS_EXT4],
				       orig_file, donor_file, orig_blk,
				       donor_blk, len, moved_len);
}

static int btrfs_defrag_wrap(struct inode *inode, struct file_ra_state *ra,
			     struct btrfs_ioctl_defrag_range_args *range,
			     u64 newer_than, unsigned long max_to_defrag)
{
	return mapex_btrfs_defrag(&mapex_profiles[MAPEX_FS_BTRFS], inode, ra,
				  range, newer_than, max_to_defrag);
}

/* A hook whose original is sealed on IBT builds (see above). */
#define MAPEX_SEALED_HOOK(sym, fn, direct)				\
	{ .symbol = sym, .wrapper = fn, MAPEX_DIRECT(direct) }

struct mapex_profile mapex_profiles[] = {
	[MAPEX_FS_EXT4] = {
		.fstype = "ext4", .module = "ext4", .shares_fault = true,
		.hooks = {
			MAPEX_HOOK("ext4_file_read_iter", ext4_read_iter_wrap),
			MAPEX_HOOK("ext4_file_write_iter", ext4_write_iter_wrap),
			MAPEX_HOOK(NULL, NULL),	/* filemap_fault */
			MAPEX_HOOK("ext4_page_mkwrite", ext4_page_mkwrite_wrap),
			MAPEX_HOOK("ext4_fallocate", ext4_fallocate_wrap),
			MAPEX_HOOK(NULL, NULL),	/* no reflink */
			MAPEX_SEALED_HOOK("ext4_move_extents",
					  ext4_move_extents_wrap,
					  mapex_orig_ext4_move_extents),
			MAPEX_HOOK(NULL, NULL),	/* no exchange range */
			MAPEX_HOOK(NULL, NULL),	/* readahead is safe */
		},
	},
	[MAPEX_FS_XFS] = {
		.fstype = "xfs", .module = "xfs",
		.hooks = {
			MAPEX_HOOK("xfs_file_read_iter", xfs_read_iter_wrap),
			MAPEX_HOOK("xfs_file_write_iter", xfs_write_iter_wrap),
			MAPEX_HOOK("xfs_filemap_fault", xfs_fault_wrap),
			MAPEX_HOOK("xfs_filemap_page_mkwrite", xfs_page_mkwrite_wrap),
			MAPEX_HOOK("xfs_file_fallocate", xfs_fallocate_wrap),
			MAPEX_HOOK("xfs_file_remap_range", xfs_remap_wrap),
			MAPEX_SEALED_HOOK("xfs_ioc_swapext", xfs_swapext_wrap,
					  mapex_orig_xfs_ioc_swapext),
			{ .symbol = "xfs_exchrange_contents",
			  .wrapper = xfs_exchange_range_wrap,
			  MAPEX_DIRECT(mapex_orig_xfs_exchrange_contents),
			  .may_be_absent = true },
			MAPEX_HOOK(NULL, NULL),	/* readahead is safe */
		},
	},
	[MAPEX_FS_BTRFS] = {
		.fstype = "btrfs", .module = "btrfs", .shares_fault = true,
		.hooks = {
			MAPEX_HOOK("btrfs_file_read_iter", btrfs_read_iter_wrap),
			MAPEX_HOOK("btrfs_file_write_iter", btrfs_write_iter_wrap),
			MAPEX_HOOK(NULL, NULL),	/* filemap_fault */
			MAPEX_HOOK("btrfs_page_mkwrite", btrfs_page_mkwrite_wrap),
			MAPEX_HOOK("btrfs_fallocate", btrfs_fallocate_wrap),
			MAPEX_HOOK("btrfs_remap_file_range", btrfs_remap_wrap),
			MAPEX_SEALED_HOOK("btrfs_defrag_file", btrfs_defrag_wrap,
					  mapex_orig_btrfs_defrag_file),
			MAPEX_HOOK(NULL, NULL),	/* no exchange range */
			MAPEX_HOOK("btrfs_readahead", btrfs_readahead_wrap),
		},
	},
};
const unsigned int mapex_nr_profiles = ARRAY_SIZE(mapex_profiles);

/* Hooks in the core kernel, installed while mapex is loaded. */
struct mapex_hook mapex_core_hooks[MAPEX_NR_CORE_HOOKS] = {
	[MAPEX_CORE_FILEMAP_FAULT] =
		MAPEX_HOOK("filemap_fault", mapex_filemap_fault_wrap),
	/* Never address-taken: its ENDBR is sealed on IBT builds. */
	[MAPEX_CORE_DO_TRUNCATE] = {
		.symbol = "do_truncate", .wrapper = mapex_do_truncate_wrap,
		MAPEX_DIRECT(mapex_orig_do_truncate), .optional = true },
	[MAPEX_CORE_TRUNCATE_PAGECACHE] = {
		.symbol = "truncate_pagecache", .observe = mapex_checkpoint,
		.id = MAPEX_CP_TRUNCATE_PAGECACHE },
	[MAPEX_CORE_TRUNCATE_PAGECACHE_RANGE] = {
		.symbol = "truncate_pagecache_range",
		.observe = mapex_checkpoint,
		.id = MAPEX_CP_TRUNCATE_PAGECACHE_RANGE },
	[MAPEX_CORE_IOMAP_DIO_RW] = {
		.symbol = "__iomap_dio_rw", .observe = mapex_checkpoint,
		.id = MAPEX_CP_IOMAP_DIO_RW },
	/* the collision detector: where folios become dirty */
	[MAPEX_CORE_DIRTY_FOLIO] = {
		.symbol = "__folio_mark_dirty", .observe = mapex_checkpoint,
		.id = MAPEX_CP_DIRTY_FOLIO, .optional = true },
	/* writeback giving a folio its dirty bit back: not a collision */
	[MAPEX_CORE_FOLIO_REDIRTY] =
		MAPEX_HOOK("folio_redirty_for_writepage",
			   mapex_folio_redirty_wrap),
	/* a direct read's pages dirtied late (module/redirty.c) */
	[MAPEX_CORE_BIO_RELEASE_PAGES] =
		MAPEX_HOOK("__bio_release_pages", mapex_bio_release_pages_wrap),
	/*
	 * the kernel writing into a process's pages (module/remote.c);
	 * access_remote_vm and ptrace_access_vm are sealed on IBT builds
	 */
	[MAPEX_CORE_ACCESS_REMOTE_VM] = {
		.symbol = "access_remote_vm", .wrapper = mapex_access_remote_vm_wrap,
		MAPEX_DIRECT(mapex_orig_access_remote_vm), .optional = true },
	[MAPEX_CORE_ACCESS_PROCESS_VM] = {
		.symbol = "access_process_vm",
		.wrapper = mapex_access_process_vm_wrap, .optional = true },
	[MAPEX_CORE_PTRACE_ACCESS_VM] = {
		.symbol = "ptrace_access_vm", .wrapper = mapex_ptrace_access_vm_wrap,
		MAPEX_DIRECT(mapex_orig_ptrace_access_vm), .optional = true },
	[MAPEX_CORE_PROCESS_VM_WRITEV] = {
		.symbol = "__x64_sys_process_vm_writev",
		.wrapper = mapex_process_vm_writev_wrap, .optional = true },
	/* static, but address-taken (def_blk_fops): ENDBR survives IBT */
	[MAPEX_CORE_BLKDEV_READ_ITER] = {
		.symbol = "blkdev_read_iter",
		.wrapper = mapex_blkdev_read_iter_wrap, .optional = true },
	[MAPEX_CORE_BLKDEV_WRITE_ITER] = {
		.symbol = "blkdev_write_iter",
		.wrapper = mapex_blkdev_write_iter_wrap, .optional = true },
	/* splice and sendfile from a file, 6.5 on (exported, in fops) */
	[MAPEX_CORE_FILEMAP_SPLICE_READ] = {
		.symbol = "filemap_splice_read",
		.wrapper = mapex_splice_read_wrap, .may_be_absent = true },
	/* a direct write's invalidation waits for IO to settle (settle.c) */
	[MAPEX_CORE_INVALIDATE_PAGES2] = {
		.symbol = "invalidate_inode_pages2_range",
		.wrapper = mapex_invalidate_pages2_wrap, .optional = true },
};


/*
 * By the module that owns the filesystem type, so that every type of that
 * module (ext4's ext2 and ext3) is guarded by the same profile on every
 * path, and without a string compare per call.  A built-in filesystem has
 * no owner: it is matched by its registered type.
 */
struct mapex_profile *mapex_profile_of(const struct inode *inode)
{
	const struct file_system_type *t = inode->i_sb->s_type;
	unsigned int i;

	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		if (!READ_ONCE(p->hooked))
			continue;
		if (t->owner ? t->owner == READ_ONCE(p->owner) :
			       t == READ_ONCE(p->builtin_type))
			return p;
	}
	return NULL;
}

void mapex_profile_read_stats(struct mapex_profile *p,
			      struct mapex_fs_stats *sum)
{
	unsigned int c, m;
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct mapex_fs_stats *s = per_cpu_ptr(p->stats, cpu);

		for (c = 0; c < MAPEX_NR_COUNTERS; c++)
			for (m = 0; m < MAPEX_NR_MODES; m++)
				sum->count[c][m] += s->count[c][m];
	}
}

/* ---- status (sysfs "hooks", "guarded", "enabled") ----------------------- */

/* One line of "hooks": symbol, role, state (docs/ABI/testing/sysfs-kernel-mapex). */
static int mapex_show_hook(char *buf, int len, const struct mapex_hook *h,
			   const char *role, const char *idle)
{
	char state[32];

	if (h->installed)
		strscpy(state, h->sealed ? "installed:sealed" : "installed",
			sizeof(state));
	else if (h->error == -EPERM)
		strscpy(state, "left-out:ibt", sizeof(state));
	else if (h->error)
		snprintf(state, sizeof(state), "failed:%d", h->error);
	else
		strscpy(state, idle, sizeof(state));
	return sysfs_emit_at(buf, len, "%-28s %-10s %s\n", h->symbol, role,
			     state);
}

int mapex_profile_show_hooks(struct mapex_profile *p, char *buf)
{
	const char *idle = p->hook_error ? "removed" : "not-loaded";
	unsigned int i;
	int len = 0;

	mutex_lock(&mapex_profiles_mutex);
	for (i = 0; i < MAPEX_NR_ENTRIES; i++)
		if (p->hooks[i].symbol)
			len += mapex_show_hook(buf, len, &p->hooks[i], "entry",
					       p->hooked &&
					       p->hooks[i].may_be_absent ?
					       "absent" : idle);
	for (i = 0; i < MAPEX_NR_CORE_HOOKS; i++) {
		const struct mapex_hook *h = &mapex_core_hooks[i];

		if (i == MAPEX_CORE_FILEMAP_FAULT && !p->shares_fault)
			continue;
		/* core hooks are installed at load: missing, or absent */
		len += mapex_show_hook(buf, len, h,
				       h->wrapper ? "entry" : "checkpoint",
				       h->may_be_absent ? "absent" :
				       "not-installed");
	}
	mutex_unlock(&mapex_profiles_mutex);
	return len;
}

/*
 * One line: "yes", "partial: <what is not guarded>" or "no: <why>".
 * Only the entry points decide it; a checkpoint that stays out counts less
 * but guards as much.
 */
int mapex_profile_show_guarded(struct mapex_profile *p, char *buf)
{
	const char *why = NULL;
	int ret;

	mutex_lock(&mapex_profiles_mutex);
	if (p->hook_error)
		why = "no: hooking failed (see hooks), reload the filesystem module or mapex";
	else if (!READ_ONCE(p->enabled))
		why = "no: disabled (enabled is 0)";
	else if (!p->hooked)
		why = "no: filesystem not loaded yet (hooked when its module loads)";
	else if (!mapex_core_hooks[MAPEX_CORE_DO_TRUNCATE].installed)
		why = "partial: do_truncate not hooked (see hooks): truncates are only counted (unguarded)";
	ret = sysfs_emit(buf, "%s\n", why ? why : "yes");
	mutex_unlock(&mapex_profiles_mutex);
	return ret;
}

int mapex_profile_enable(struct mapex_profile *p, bool on)
{
	int err = 0;

	mutex_lock(&mapex_profiles_mutex);
	if (on && p->hook_error) {
		pr_warn("%s: not enabled: hooking it failed (%d), see /sys/kernel/mapex/fs/%s/hooks\n",
			p->fstype, p->hook_error, p->fstype);
		err = -ENODEV;
	} else {
		WRITE_ONCE(p->enabled, on);
	}
	mutex_unlock(&mapex_profiles_mutex);
	return err;
}

/* ---- installation ------------------------------------------------------ */

/*
 * Hook @p's entry points; @owner is the filesystem's module (NULL: find
 * it through the registered type, which is then already there).
 */
static int mapex_profile_hook(struct mapex_profile *p, struct module *owner)
{
	struct file_system_type *type = NULL;
	unsigned int i;
	int err;

	if (!owner) {
		/* registered (its read_iter exists): no module autoload */
		type = get_fs_type(p->fstype);
		if (!type) {
			pr_err("%s: no such filesystem type\n", p->fstype);
			return -ENOENT;
		}
		owner = type->owner;
		module_put(type->owner);	/* get_fs_type() took it */
	}

	err = mapex_hooks_install(p->hooks, MAPEX_NR_ENTRIES);
	if (err) {
		for (i = 0; i < MAPEX_NR_ENTRIES; i++)
			if (p->hooks[i].error)
				break;
		pr_err("%s: cannot hook %s, filesystem not guarded\n",
		       p->fstype, i < MAPEX_NR_ENTRIES ?
		       p->hooks[i].symbol : "its entry points");
		p->hook_error = err;
		return err;
	}
	p->hook_error = 0;
	WRITE_ONCE(p->owner, owner);
	WRITE_ONCE(p->builtin_type, owner ? NULL : type);
	WRITE_ONCE(p->hooked, true);
	return 0;
}

static void mapex_profile_unhook(struct mapex_profile *p)
{
	if (!p->hooked)
		return;
	WRITE_ONCE(p->hooked, false);
	WRITE_ONCE(p->owner, NULL);
	WRITE_ONCE(p->builtin_type, NULL);
	mapex_hooks_remove(p->hooks, MAPEX_NR_ENTRIES);
}

/* Hook a filesystem when its module comes, unhook it when it goes. */
static int mapex_module_notify(struct notifier_block *nb, unsigned long action,
			       void *data)
{
	struct module *mod = data;
	unsigned int i;

	mutex_lock(&mapex_profiles_mutex);
	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		if (!p->selected || strcmp(mod->name, p->module))
			continue;
		if (action == MODULE_STATE_COMING && !p->hooked) {
			if (!mapex_profile_hook(p, mod))
				pr_info("%s: hooked on module load\n", p->fstype);
		} else if (action == MODULE_STATE_GOING) {
			mapex_profile_unhook(p);
		}
	}
	mutex_unlock(&mapex_profiles_mutex);
	return NOTIFY_OK;
}

static struct notifier_block mapex_module_nb = {
	.notifier_call = mapex_module_notify,
};

/*
 * Parse a list of filesystem names ("ext4,xfs") given to @param into a
 * mask of profile indices; an unknown name fails the load.
 */
static int mapex_fs_mask(const char *param, const char *list,
			 unsigned long *mask)
{
	char *copy, *cur, *name;
	unsigned int i;
	int err = 0;

	*mask = 0;
	if (!list || !*list)
		return 0;
	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = strim(copy);
	while ((name = strsep(&cur, ",")) != NULL) {
		name = strim(name);
		for (i = 0; i < mapex_nr_profiles; i++)
			if (!strcmp(name, mapex_profiles[i].fstype))
				break;
		if (i == mapex_nr_profiles) {
			pr_err("%s=: unknown filesystem '%s' (supported: ext4, xfs, btrfs)\n",
			       param, name);
			err = -EINVAL;
			break;
		}
		*mask |= BIT(i);
	}
	kfree(copy);
	return err;
}

/* Reading filesystems= or disabled= back gives the list in effect. */
static int mapex_fs_list_get(char *buf, bool disabled)
{
	unsigned int i;
	int len = 0;

	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		if (disabled ? p->disabled_at_load : p->selected)
			len += scnprintf(buf + len, PAGE_SIZE - len, "%s%s",
					 len ? "," : "", p->fstype);
	}
	return len + scnprintf(buf + len, PAGE_SIZE - len, "\n");
}

static int mapex_filesystems_get(char *buf, const struct kernel_param *kp)
{
	return mapex_fs_list_get(buf, false);
}

static int mapex_disabled_get(char *buf, const struct kernel_param *kp)
{
	return mapex_fs_list_get(buf, true);
}

static const struct kernel_param_ops mapex_filesystems_ops = {
	.set = param_set_charp, .get = mapex_filesystems_get,
	.free = param_free_charp,
};
static const struct kernel_param_ops mapex_disabled_ops = {
	.set = param_set_charp, .get = mapex_disabled_get,
	.free = param_free_charp,
};

static char *filesystems;
module_param_cb(filesystems, &mapex_filesystems_ops, &filesystems, 0444);
MODULE_PARM_DESC(filesystems,
		 "comma-separated filesystems to guard (default: ext4,xfs,btrfs)");

/*
 * The initial state of each filesystem's "enabled" toggle, so that it
 * persists across loads through /etc/modprobe.d (docs/install.md): set at
 * load, before any file is guarded, with no window a udev rule or unit
 * applying it later would leave, and with no new daemon.
 */
static char *disabled;
module_param_cb(disabled, &mapex_disabled_ops, &disabled, 0444);
MODULE_PARM_DESC(disabled,
		 "comma-separated filesystems hooked but not enabled at load (default: none)");

/* Apply filesystems= and disabled=; changes nothing if either is refused. */
static int mapex_select(void)
{
	unsigned long selected, off;
	unsigned int i;
	int err;

	err = mapex_fs_mask("filesystems", filesystems, &selected);
	if (!err)
		err = mapex_fs_mask("disabled", disabled, &off);
	if (err)
		return err;
	if (!selected)
		selected = BIT(mapex_nr_profiles) - 1;
	for (i = 0; i < mapex_nr_profiles; i++) {
		mapex_profiles[i].selected = selected & BIT(i);
		mapex_profiles[i].disabled_at_load = off & BIT(i);
	}
	return 0;
}

int mapex_interpose_init(void)
{
	unsigned int i;
	int err;

	err = mapex_select();
	if (err)
		return err;
	err = mapex_requests_init();
	if (err)
		return err;
	err = -ENOMEM;
	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		p->stats = alloc_percpu(struct mapex_fs_stats);
		if (!p->stats)
			goto out_stats;
		p->enabled = p->selected && !p->disabled_at_load;
	}

	err = mapex_hooks_install(mapex_core_hooks, ARRAY_SIZE(mapex_core_hooks));
	if (err)
		goto out_stats;
	/*
	 * Without do_truncate (another ftrace IPMODIFY user holds it)
	 * truncates are only counted at truncate_pagecache.  Its callers
	 * (vfs_truncate, the ftruncate system call) cannot stand in for it:
	 * they take freeze protection inside, and a range taken before it
	 * deadlocks against fsfreeze (docs/locking.md, rule 13).
	 */
	if (!mapex_core_hooks[MAPEX_CORE_DO_TRUNCATE].installed)
		pr_info("do_truncate left out: truncates are only counted (unguarded)\n");
	/*
	 * The notifier goes in first and outside mapex_profiles_mutex: the
	 * module loader calls it with module_notify_list's rwsem held, and
	 * it takes mapex_profiles_mutex, so registering under the mutex
	 * would order the two both ways (lockdep saw it).  A module that
	 * comes in between is hooked by the notifier; the scan skips it.
	 */
	err = register_module_notifier(&mapex_module_nb);
	if (err)
		goto out_core;
	mutex_lock(&mapex_profiles_mutex);
	for (i = 0; !err && i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		/* Not loaded yet: the notifier hooks it when it comes. */
		if (p->selected && !p->hooked &&
		    mapex_symbol_exists(p->hooks[MAPEX_ENTRY_READ_ITER].symbol))
			err = mapex_profile_hook(p, NULL);
	}
	if (err) {
		for (i = 0; i < mapex_nr_profiles; i++)
			mapex_profile_unhook(&mapex_profiles[i]);
		mutex_unlock(&mapex_profiles_mutex);
		unregister_module_notifier(&mapex_module_nb);
		goto out_core;
	}
	mutex_unlock(&mapex_profiles_mutex);
	return 0;

out_core:
	mapex_hooks_remove(mapex_core_hooks, ARRAY_SIZE(mapex_core_hooks));
	mapex_hooks_drain();

out_stats:
	for (i = 0; i < mapex_nr_profiles; i++) {
		free_percpu(mapex_profiles[i].stats);
		mapex_profiles[i].stats = NULL;
	}
	mapex_requests_exit();
	return err;
}

void mapex_interpose_exit(void)
{
	unsigned int i;

	unregister_module_notifier(&mapex_module_nb);
	mutex_lock(&mapex_profiles_mutex);
	for (i = 0; i < mapex_nr_profiles; i++)
		mapex_profile_unhook(&mapex_profiles[i]);
	mutex_unlock(&mapex_profiles_mutex);
	mapex_hooks_remove(mapex_core_hooks, ARRAY_SIZE(mapex_core_hooks));
	/* Sleeping wrappers and in-flight async IO finish before teardown. */
	mapex_hooks_drain();
	mapex_aio_exit();
	mapex_requests_exit();
	for (i = 0; i < mapex_nr_profiles; i++)
		free_percpu(mapex_profiles[i].stats);
}
