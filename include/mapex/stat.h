/* SPDX-License-Identifier: GPL-2.0 */
/*
 * include/mapex/stat.h - layout of the maps that tools/bpf/mapexstat.bpf.c
 * fills and tools/mapexstat reads (pinned under /sys/fs/bpf/mapex/), and the
 * argument order of the mapex tracepoints as seen by raw tracepoints.
 *
 * Shared by BPF and userspace C, so only plain C types; every structure is
 * laid out without implicit padding (hash keys are compared bytewise).
 * The pinned maps are an ABI: docs/ABI/testing/bpffs-mapex.
 */
#ifndef MAPEX_STAT_H
#define MAPEX_STAT_H

#include "modes.h"

#define MAPEX_PIN_ROOT		"/sys/fs/bpf"
#define MAPEX_PIN_DIR		"/sys/fs/bpf/mapex"

/* Map names, also the file names of the pins in MAPEX_PIN_DIR. */
#define MAPEX_MAP_STATS		"mapex_stats"
#define MAPEX_MAP_HIST		"mapex_hist"
#define MAPEX_MAP_COUNTERS	"mapex_counters"
#define MAPEX_MAP_STACKS	"mapex_stacks"
#define MAPEX_MAP_HOLD		"mapex_hold"

#define MAPEX_STATS_ENTRIES	10240	/* default size of mapex_stats */
#define MAPEX_HIST_SLOTS	64	/* slot i counts waits in [2^i, 2^(i+1)) ns */
#define MAPEX_HIST_ENTRIES	64	/* mapex_hist: one per (waiter, holder) */

/* Room for every pair; the holder may also be MAPEX_MODE_NONE. */
_Static_assert(MAPEX_NR_MODES * (MAPEX_NR_MODES + 1) <= MAPEX_HIST_ENTRIES,
	       "mapex_hist cannot hold every mode pair");

/* raw_tp ctx->args[] index of each mapex_contention_end argument. */
enum mapex_end_arg {
	MAPEX_END_DEV, MAPEX_END_INO, MAPEX_END_START, MAPEX_END_END,
	MAPEX_END_MODE, MAPEX_END_HOLDER_MODE, MAPEX_END_WAIT_NS,
	MAPEX_END_RESULT, MAPEX_END_OP,
};

/* Likewise for mapex_contention_begin (the first six as in _end). */
enum mapex_begin_arg {
	MAPEX_BEGIN_HOLDER_PID = MAPEX_END_HOLDER_MODE + 1, MAPEX_BEGIN_OP,
};

/* Likewise for mapex_release (the first six as in mapex_acquire). */
enum mapex_release_arg {
	MAPEX_REL_PID = MAPEX_END_MODE + 2, MAPEX_REL_TID, MAPEX_REL_HELD_NS,
};

/* Likewise for mapex_unguarded. */
enum mapex_unguarded_arg {
	MAPEX_UNG_DEV, MAPEX_UNG_INO, MAPEX_UNG_START, MAPEX_UNG_END,
	MAPEX_UNG_MODE, MAPEX_UNG_CHECKPOINT,
};

#define MAPEX_COMM_LEN		16	/* TASK_COMM_LEN */
#define MAPEX_STACK_DEPTH	64	/* frames kept per stack in mapex_stacks */
#define MAPEX_STACK_ENTRIES	4096	/* distinct stacks in mapex_stacks */
#define MAPEX_WAITING_ENTRIES	4096	/* tasks between begin and end */
#define MAPEX_NO_STACK		(-1)	/* stack_id when none was taken */
#define MAPEX_HOLD_ENTRIES	1024	/* mapex_hold: inodes and modes */
#define MAPEX_TAKER_ENTRIES	8192	/* -L --comm/--cgroup: open holds */

/*
 * mapex_stats key: one entry per inode, (waiter, holder) mode pair and
 * waiter process (pid and comm); tid only with mapexstat -t, holder_pid
 * only with -o, stack_id only with -s, ustack_id only with -U (0, 0,
 * MAPEX_NO_STACK and 0 otherwise).
 */
struct mapex_stat_key {
	unsigned int dev;		/* kernel dev_t: major << 20 | minor */
	enum mapex_mode mode;		/* of the waiter */
	enum mapex_mode holder_mode;	/* or MAPEX_MODE_NONE */
	unsigned int pid;		/* waiter's process (tgid) */
	unsigned long long ino;
	unsigned int tid;		/* waiter's thread (-t), else 0 */
	int holder_pid;			/* holder's thread (-o), else 0 */
	int stack_id;			/* waiter's kernel stack in mapex_stacks */
	int ustack_id;			/* waiter's user stack in mapex_stacks,
					 * plus 1 (-U); 0: none (was padding,
					 * always 0, before 0.6.2) */
	char comm[MAPEX_COMM_LEN];	/* waiter thread's comm */
};

struct mapex_stat_val {
	unsigned long long count;	/* contended acquisitions */
	unsigned long long total_ns;	/* sum of waits */
	unsigned long long max_ns;
	unsigned long long min_ns;
	unsigned long long failed;	/* waits that ended with result != 0 */
	unsigned long long last_start;	/* last contended range */
	unsigned long long last_end;
	enum mapex_op last_op;		/* of the last wait */
	int last_result;		/* 0 or -errno of the last wait */
};

/* mapex_hist key: a (waiter, holder) mode pair. */
struct mapex_hist_key {
	enum mapex_mode mode;
	enum mapex_mode holder_mode;
};

struct mapex_hist_val {
	unsigned long long slots[MAPEX_HIST_SLOTS];
};

/*
 * mapex_hold key (-L): hold times per inode and mode, from mapex_acquire to
 * mapex_release; the value is a struct mapex_hist_val of hold ns.
 */
struct mapex_hold_key {
	unsigned int dev;
	enum mapex_mode mode;
	unsigned long long ino;
};

/* mapex_waiting (not pinned): what contention_begin saw, per waiting tid. */
struct mapex_waiting {
	int holder_pid;
	int stack_id;
	int ustack_id;			/* as in mapex_stat_key */
};

/*
 * mapex_stacks value: kernel (or, for a ustack_id, user) addresses,
 * innermost first, 0-terminated.
 */
typedef unsigned long long mapex_stack_t[MAPEX_STACK_DEPTH];

/* mapex_counters: a one-entry array (key 0) of event and drop counters. */
struct mapex_counters {
	unsigned long long begin;	/* contention_begin events seen */
	unsigned long long end;		/* contention_end events counted */
	unsigned long long filtered;	/* events skipped by the filters */
	unsigned long long stat_drops;	/* mapex_stats full: wait not recorded */
	unsigned long long hist_drops;	/* mapex_hist full: wait not recorded */
	unsigned long long refused;	/* mapex_refused events */
	unsigned long long unguarded[MAPEX_NR_CHECKPOINTS];
	unsigned long long stack_drops;	/* -s, -U: no stack id (map full, ...) */
	unsigned long long hold_drops;	/* -L: hold not timed (maps full, the
					 * same range held twice at once, or
					 * --comm/--cgroup: taker unknown) */
};

#endif /* MAPEX_STAT_H */
