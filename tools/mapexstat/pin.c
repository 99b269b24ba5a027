// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/pin.c - mapexstat's collection: environment checks
 * (module, BPF, bpffs), loading and attaching tools/bpf/mapexstat.bpf.c
 * with the options' filters and detail, pinning it under /sys/fs/bpf/mapex/
 * (--pin), removing the pins (--unpin), and opening a pinned collection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mapexstat.h"
#include "mapexstat.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC	0xcafe4a11
#endif

#define LINK_SUFFIX	"_link"

/* Every link ever pinned: mapex_acquire's only by 0.6.3 and before. */
static const char *const link_progs[] = {
	"mapex_begin", "mapex_end", "mapex_refused", "mapex_unguarded",
	"mapex_acquire", "mapex_release",
};
static const char *const map_names[] = {
	MAPEX_MAP_STATS, MAPEX_MAP_HIST, MAPEX_MAP_COUNTERS, MAPEX_MAP_STACKS,
	MAPEX_MAP_HOLD,
};

/* ---- environment checks ------------------------------------------------ */

bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

void check_module(void)
{
	static const char *const events[] = {
		"/sys/kernel/tracing/events",
		"/sys/kernel/debug/tracing/events",
	};
	char path[128];
	unsigned int i;

	if (!exists("/sys/kernel/mapex") && !exists("/sys/module/mapex"))
		die(EXIT_USAGE, "the mapex module is not loaded (no /sys/kernel/mapex)");
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		if (!exists(events[i]))
			continue;
		snprintf(path, sizeof(path), "%s/mapex/mapex_contention_end",
			 events[i]);
		if (!exists(path))
			die(EXIT_USAGE, "the mapex tracepoints are missing (no %s): is the mapex module loaded?",
			    path);
		return;
	}
	/* tracefs not mounted: attaching will tell. */
}

void check_bpf(void)
{
	int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT,
					     NULL);

	if (ret < 0)
		die(EXIT_USAGE, "BPF is unavailable: %s", strerror(-ret));
	if (ret == 0)
		die(EXIT_USAGE, "BPF is unavailable: this kernel refuses raw tracepoint programs");
}

void check_bpffs(void)
{
	struct statfs sfs;

	if (statfs(MAPEX_PIN_ROOT, &sfs) || sfs.f_type != BPF_FS_MAGIC)
		die(EXIT_USAGE, "BPF is unavailable: no bpffs mounted at %s (mount -t bpf bpf %s)",
		    MAPEX_PIN_ROOT, MAPEX_PIN_ROOT);
}

static void pin_path(char *buf, size_t n, const char *name, const char *suffix)
{
	snprintf(buf, n, "%s/%s%s", MAPEX_PIN_DIR, name, suffix);
}

bool pinned_collection(void)
{
	char path[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(link_progs); i++) {
		pin_path(path, sizeof(path), link_progs[i], LINK_SUFFIX);
		if (exists(path))
			return true;
	}
	return false;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !opt.verbose)
		return 0;
	if (!opt.verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- loading, attaching, pinning --------------------------------------- */


/* Remove the pins named in the tables; missing ones are not an error. */
int unpin_all(bool maps_too, const bool *keep_map)
{
	char path[256];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(link_progs); i++) {
		pin_path(path, sizeof(path), link_progs[i], LINK_SUFFIX);
		if (unlink(path) && errno != ENOENT) {
			fprintf(stderr, "mapexstat: cannot remove %s: %s\n",
				path, strerror(errno));
			ret = -1;
		}
	}
	for (i = 0; maps_too && i < ARRAY_SIZE(map_names); i++) {
		if (keep_map && keep_map[i])
			continue;
		pin_path(path, sizeof(path), map_names[i], "");
		if (unlink(path) && errno != ENOENT) {
			fprintf(stderr, "mapexstat: cannot remove %s: %s\n",
				path, strerror(errno));
			ret = -1;
		}
	}
	if (maps_too && !keep_map && rmdir(MAPEX_PIN_DIR) && errno != ENOENT) {
		fprintf(stderr, "mapexstat: cannot remove %s: %s\n",
			MAPEX_PIN_DIR, strerror(errno));
		ret = -1;
	}
	return ret;
}

static void load_error(const char *what, int err)
{
	if (err == -ENOENT || err == -ESRCH)
		die(EXIT_USAGE, "%s: mapex tracepoints not found: is the mapex module loaded?",
		    what);
	if (err == -EPERM || err == -EACCES || err == -ENOSYS)
		die(EXIT_USAGE, "%s: BPF is unavailable: %s", what,
		    strerror(-err));
	die(EXIT_RUNTIME, "%s failed: %s", what, strerror(-err));
}

/* Undo a half-done load(): drop the object and, for --pin, its new pins. */
static void load_failed(struct mapexstat_bpf *skel, bool pin,
			const bool *had_map, const char *what, int err)
{
	mapexstat_bpf__destroy(skel);
	if (pin)
		unpin_all(true, had_map);
	if (pin && err == -EINVAL)
		die(EXIT_RUNTIME, "%s failed: %s (stale maps in %s? try --unpin)",
		    what, strerror(-err), MAPEX_PIN_DIR);
	load_error(what, err);
}

/*
 * Open, configure, load and attach the programs. With pin, maps are pinned
 * by name and the links are pinned too; on failure every pin this call made
 * is removed again, so a refused --pin changes nothing.
 */
void load(struct session *s, bool pin)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = MAPEX_PIN_DIR);
	bool had_map[ARRAY_SIZE(map_names)] = { false };
	const struct bpf_object_skeleton *os;
	struct mapexstat_bpf *skel;
	struct bpf_map *map;
	char path[256];
	int i, err;

	for (i = 0; pin && i < (int)ARRAY_SIZE(map_names); i++) {
		pin_path(path, sizeof(path), map_names[i], "");
		had_map[i] = exists(path);
	}
	skel = mapexstat_bpf__open_opts(&oopts);
	if (!skel)
		load_error("opening the BPF object", -errno);
	skel->rodata->targ_tgid = opt.pid;
	skel->rodata->targ_tid = opt.tid;
	skel->rodata->targ_cgroup = opt.cgroup;
	memcpy((char *)skel->rodata->targ_comm, opt.comm, sizeof(opt.comm));
	skel->rodata->per_thread = opt.per_thread;
	skel->rodata->holders = opt.holders;
	skel->rodata->stacks = opt.stack_frames > 0;
	skel->rodata->user_stacks = opt.ustack_frames > 0;
	skel->rodata->hold_times = opt.hold_times;
	/* Without -L, nothing runs on uncontended acquire and release. */
	bpf_program__set_autoload(skel->progs.mapex_release, opt.hold_times);
	/* ... and the grant only for -L's --comm/--cgroup of AIO releases. */
	bpf_program__set_autoload(skel->progs.mapex_acquire, opt.hold_times &&
				  (opt.comm[0] || opt.cgroup));
	skel->rodata->targ_dev = opt.dev;
	skel->rodata->targ_ino = opt.ino;
	skel->rodata->targ_mode = opt.mode;
	skel->rodata->targ_holder = opt.holder;
	err = bpf_map__set_max_entries(skel->maps.mapex_stats,
				       opt.map_entries);
	bpf_object__for_each_map(map, skel->obj)
		if (!err && !pin)
			err = bpf_map__set_pin_path(map, NULL);
	if (err)
		load_failed(skel, false, NULL, "configuring the BPF object", err);
	err = mapexstat_bpf__load(skel);
	if (err)
		load_failed(skel, pin, had_map, "loading BPF programs", err);
	err = mapexstat_bpf__attach(skel);
	if (err)
		load_failed(skel, pin, had_map,
			    "attaching to the mapex tracepoints", err);
	os = skel->skeleton;
	for (i = 0; pin && i < os->prog_cnt; i++) {
		struct bpf_link *link = *os->progs[i].link;

		if (!bpf_program__autoload(*os->progs[i].prog))
			continue;
		pin_path(path, sizeof(path), os->progs[i].name, LINK_SUFFIX);
		err = link ? bpf_link__pin(link, path) : -ENOENT;
		if (err)
			load_failed(skel, pin, had_map, "pinning the links",
				    err);
	}
	s->skel = skel;
	s->stats_fd = bpf_map__fd(skel->maps.mapex_stats);
	s->hist_fd = bpf_map__fd(skel->maps.mapex_hist);
	s->counters_fd = bpf_map__fd(skel->maps.mapex_counters);
	s->stacks_fd = bpf_map__fd(skel->maps.mapex_stacks);
	s->hold_fd = bpf_map__fd(skel->maps.mapex_hold);
}

/* A map pinned by a mapexstat with another layout cannot be read. */
static void check_layout(int fd, const char *name, size_t key, size_t val)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die(EXIT_RUNTIME, "cannot inspect pinned map %s: %s", name,
		    strerror(errno));
	if (info.key_size != key || info.value_size != val)
		die(EXIT_RUNTIME, "pinned map %s has another layout (key %u, value %u bytes; this mapexstat: %zu, %zu): pinned by another mapexstat version? (try --unpin)",
		    name, info.key_size, info.value_size, key, val);
}

void open_pinned(struct session *s)
{
	int *fds[] = { &s->stats_fd, &s->hist_fd, &s->counters_fd,
		       &s->stacks_fd, &s->hold_fd };
	char path[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map_names); i++) {
		pin_path(path, sizeof(path), map_names[i], "");
		*fds[i] = bpf_obj_get(path);
		/* Maps an older mapexstat did not pin: no stacks, holds. */
		if (*fds[i] < 0 && (fds[i] == &s->stacks_fd ||
				    fds[i] == &s->hold_fd))
			continue;
		if (*fds[i] < 0)
			die(EXIT_RUNTIME, "cannot open pinned map %s: %s (try --unpin)",
			    path, strerror(errno));
	}
	check_layout(s->stats_fd, MAPEX_MAP_STATS, sizeof(struct mapex_stat_key),
		     sizeof(struct mapex_stat_val));
	check_layout(s->counters_fd, MAPEX_MAP_COUNTERS, sizeof(__u32),
		     sizeof(struct mapex_counters));
	s->pinned = true;
}

void set_libbpf_print(void)
{
	libbpf_set_print(libbpf_print);
}
