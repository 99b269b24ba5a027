/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/interpose.h - per-filesystem profiles (which entry points a
 * filesystem has, their hooks, toggle and counters) shared by
 * module/interpose.c and module/sysfs.c.
 */
#ifndef MAPEX_INTERPOSE_H
#define MAPEX_INTERPOSE_H

#include <linux/kobject.h>
#include <linux/percpu.h>

#include "hook.h"
#include <mapex/modes.h>

/* Filesystem entry points, one hook each (where the filesystem has it). */
enum mapex_entry {
	MAPEX_ENTRY_READ_ITER,
	MAPEX_ENTRY_WRITE_ITER,
	MAPEX_ENTRY_FAULT,		/* NULL symbol: the shared filemap_fault */
	MAPEX_ENTRY_PAGE_MKWRITE,
	MAPEX_ENTRY_FALLOCATE,
	MAPEX_NR_ENTRIES,
};

/* Per-filesystem counters (docs/ABI/testing/sysfs-kernel-mapex). */
enum mapex_counter {
	MAPEX_CNT_ACQUIRED,		/* ranges granted */
	MAPEX_CNT_CONTENDED,		/* requests that had to wait */
	MAPEX_CNT_NESTED_BYPASS,	/* nested requests that did not fit */
	MAPEX_CNT_RETRY,		/* faults returned VM_FAULT_RETRY */
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
	bool			selected;	/* named in filesystems= */
	bool			enabled;	/* sysfs toggle */
	bool			hooked;		/* hooks installed */
	struct kobject		*kobj;
	struct mapex_fs_stats __percpu *stats;
};

extern struct mapex_profile mapex_profiles[];
extern const unsigned int mapex_nr_profiles;

void mapex_profile_read_stats(struct mapex_profile *p,
			      struct mapex_fs_stats *sum);

int mapex_interpose_init(const char *filesystems);
void mapex_interpose_exit(void);
int mapex_sysfs_init(void);
void mapex_sysfs_exit(void);

#endif /* MAPEX_INTERPOSE_H */
