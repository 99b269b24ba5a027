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

/* Likewise for mapex_unguarded. */
enum mapex_unguarded_arg {
	MAPEX_UNG_DEV, MAPEX_UNG_INO, MAPEX_UNG_START, MAPEX_UNG_END,
	MAPEX_UNG_MODE, MAPEX_UNG_CHECKPOINT,
};

/* mapex_stats key: one entry per inode and (waiter, holder) mode pair. */
struct mapex_stat_key {
	unsigned int dev;		/* kernel dev_t: major << 20 | minor */
	unsigned int mode;		/* enum mapex_mode of the waiter */
	unsigned int holder_mode;	/* enum mapex_mode or MAPEX_MODE_NONE */
	unsigned int pad;		/* always 0 */
	unsigned long long ino;
};

struct mapex_stat_val {
	unsigned long long count;	/* contended acquisitions */
	unsigned long long total_ns;	/* sum of waits */
	unsigned long long max_ns;
	unsigned long long min_ns;
	unsigned long long failed;	/* waits that ended with result != 0 */
	unsigned long long last_start;	/* last contended range */
	unsigned long long last_end;
	unsigned int last_op;		/* enum mapex_op of the last wait */
	int last_result;		/* 0 or -errno of the last wait */
};

/* mapex_hist key: a (waiter, holder) mode pair. */
struct mapex_hist_key {
	unsigned int mode;
	unsigned int holder_mode;
};

struct mapex_hist_val {
	unsigned long long slots[MAPEX_HIST_SLOTS];
};

/* mapex_counters: a one-entry array (key 0) of event and drop counters. */
struct mapex_counters {
	unsigned long long begin;	/* contention_begin events seen */
	unsigned long long end;		/* contention_end events counted */
	unsigned long long filtered;	/* events skipped by -p/--inode/--mode */
	unsigned long long stat_drops;	/* mapex_stats full: wait not recorded */
	unsigned long long hist_drops;	/* mapex_hist full: wait not recorded */
	unsigned long long refused;	/* mapex_refused events */
	unsigned long long unguarded[MAPEX_NR_CHECKPOINTS];
};

#endif /* MAPEX_STAT_H */
