/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/mapexstat/mapexstat.h - what the parts of mapexstat share: the
 * parsed options, exit codes, the collection session, a snapshot of the
 * maps, and each part's entry points: mapexstat.c (options, main), pin.c
 * (environment checks, loading, pinning), report.c (reading the maps and
 * printing them) and paths.c (inode to path resolution through /proc).
 */
#ifndef MAPEXSTAT_H
#define MAPEXSTAT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mapex/stat.h>

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

#define KDEV_MAJOR(d)	((unsigned int)(d) >> 20)
#define KDEV_MINOR(d)	((unsigned int)(d) & 0xfffff)
#define KDEV(ma, mi)	(((unsigned int)(ma) << 20) | ((unsigned int)(mi) & 0xfffff))

#define ANY		(~0U)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum sort_key { SORT_TOTAL, SORT_CONTENDED, SORT_MAX, SORT_AVG, SORT_MIN };

struct options {
	unsigned long interval;		/* seconds, 0: none */
	unsigned long duration;		/* seconds, 0: until signal */
	unsigned int pid, tid;
	char comm[MAPEX_COMM_LEN];	/* "": any */
	unsigned long long cgroup;	/* cgroup v2 id, 0: any */
	bool per_thread, holders;	/* -t, -o */
	unsigned int stack_frames;	/* -s N, 0: no stacks */
	unsigned int ustack_frames;	/* -U N, 0: no user stacks */
	bool timestamp;			/* -T */
	bool hold_times;		/* -L */
	const char *sep;		/* -x SEP: CSV, NULL: table/JSON */
	unsigned int dev;		/* kernel dev_t, 0: any */
	unsigned long long ino;		/* 0: any */
	unsigned int mode, holder;	/* ANY or enum mapex_mode */
	bool hist, json, pin, unpin, verbose, status;
	enum sort_key sort;
	unsigned long entries;		/* rows printed, 0: all */
	unsigned long map_entries;
};

extern struct options opt;

extern const char *const mapex_mode_names[MAPEX_NR_MODES];

void __attribute__((format(printf, 2, 3), noreturn))
die(int status, const char *fmt, ...);

/* pin.c */
struct session {
	struct mapexstat_bpf *skel;	/* NULL when reusing pinned maps */
	int stats_fd, hist_fd, counters_fd;
	int stacks_fd, hold_fd;		/* -1: none (pinned by an older mapexstat) */
	bool pinned;			/* reading a --pin collection */
};

bool exists(const char *path);
void check_module(void);
void check_bpf(void);
void check_bpffs(void);
bool pinned_collection(void);
int unpin_all(bool maps_too, const bool *keep_map);
void load(struct session *s, bool pin);
void open_pinned(struct session *s);
void set_libbpf_print(void);

/* report.c */
struct entry {
	struct mapex_stat_key key;
	struct mapex_stat_val val;
	char *path;
	int holder_tgid;		/* -o: from /proc; 0: unknown */
	char holder_comm[MAPEX_COMM_LEN]; /* -o: from /proc; "": unknown */
	unsigned long long *stack;	/* -s: MAPEX_STACK_DEPTH addresses */
	unsigned long long *ustack;	/* -U: likewise, user addresses */
};

struct hist {
	struct mapex_hist_key key;
	struct mapex_hist_val val;
};

struct hold {
	struct mapex_hold_key key;
	struct mapex_hist_val val;
};

struct snapshot {
	struct entry *e;
	size_t n;
	struct hist *h;
	size_t nh;
	struct hold *hold;
	size_t nhold;
	struct mapex_counters c;
};


void report(const struct session *s, bool reset, double secs);

/* paths.c */
bool mnt_dev(const char *fdinfo, const char *mountinfo, unsigned int *dev);
void resolve_paths(struct entry *e, size_t n);

#endif /* MAPEXSTAT_H */
