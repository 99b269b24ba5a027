// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/report.c - mapexstat's reports: reads (and with -i
 * resets) the maps of a session, keeps the rows the options ask for, sorts
 * them, adds paths (paths.c), holders' process and comm from /proc,
 * symbolized kernel stacks (ksyms.c) and user stacks as file+offset
 * (uaddr.c), and prints a table with log2 histograms,
 * CSV or JSON (schema in docs/mapexstat.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "ksyms.h"
#include "mapexstat.h"
#include "uaddr.h"

const char *const mapex_mode_names[MAPEX_NR_MODES] = MAPEX_MODE_NAMES;
static const char *const op_names[] = MAPEX_OP_NAMES;
static const char *const cp_names[] = MAPEX_CHECKPOINT_NAMES;

static bool want(unsigned int dev, unsigned long long ino, unsigned int mode,
		 unsigned int holder)
{
	return (!opt.dev || dev == opt.dev) && (!opt.ino || ino == opt.ino) &&
	       (opt.mode == ANY || mode == opt.mode) &&
	       (opt.holder == ANY || holder == opt.holder);
}

/* Make room for element n of an array that holds *cap elements. */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 64;
	p = realloc(p, *cap * size);
	if (!p)
		die(EXIT_RUNTIME, "out of memory");
	return p;
}

/*
 * Read every map; with reset (own maps with -i), delete what was read so
 * the next report covers the next interval.
 */
static void read_maps(const struct session *s, struct snapshot *snap,
		      bool reset)
{
	struct mapex_stat_key k, next, *pk = NULL;
	struct mapex_hist_key hk, hnext, *phk = NULL;
	struct mapex_hold_key ok, onext, *pok = NULL;
	struct mapex_counters zero = { 0 };
	__u32 zero_key = 0;
	size_t i, cap = 0, hcap = 0, ocap = 0;

	memset(snap, 0, sizeof(*snap));
	while (!bpf_map_get_next_key(s->stats_fd, pk, &next)) {
		k = next;
		pk = &k;
		snap->e = grow(snap->e, snap->n, &cap, sizeof(*snap->e));
		memset(&snap->e[snap->n], 0, sizeof(*snap->e));
		if (bpf_map_lookup_elem(s->stats_fd, &k, &snap->e[snap->n].val))
			continue;	/* deleted meanwhile */
		snap->e[snap->n++].key = k;
	}
	while (!bpf_map_get_next_key(s->hist_fd, phk, &hnext)) {
		hk = hnext;
		phk = &hk;
		snap->h = grow(snap->h, snap->nh, &hcap, sizeof(*snap->h));
		if (bpf_map_lookup_elem(s->hist_fd, &hk, &snap->h[snap->nh].val))
			continue;
		snap->h[snap->nh++].key = hk;
	}
	while (s->hold_fd >= 0 &&
	       !bpf_map_get_next_key(s->hold_fd, pok, &onext)) {
		ok = onext;
		pok = &ok;
		snap->hold = grow(snap->hold, snap->nhold, &ocap,
				  sizeof(*snap->hold));
		if (bpf_map_lookup_elem(s->hold_fd, &ok,
					&snap->hold[snap->nhold].val))
			continue;
		snap->hold[snap->nhold++].key = ok;
	}
	if (bpf_map_lookup_elem(s->counters_fd, &zero_key, &snap->c))
		die(EXIT_RUNTIME, "reading %s failed: %s", MAPEX_MAP_COUNTERS,
		    strerror(errno));
	if (!reset)
		return;
	for (i = 0; i < snap->n; i++)
		bpf_map_delete_elem(s->stats_fd, &snap->e[i].key);
	for (i = 0; i < snap->nh; i++)
		bpf_map_delete_elem(s->hist_fd, &snap->h[i].key);
	for (i = 0; i < snap->nhold; i++)
		bpf_map_delete_elem(s->hold_fd, &snap->hold[i].key);
	bpf_map_update_elem(s->counters_fd, &zero_key, &zero, BPF_ANY);
}

static void free_snapshot(struct snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->n; i++) {
		free(snap->e[i].path);
		free(snap->e[i].stack);
		free(snap->e[i].ustack);
	}
	free(snap->e);
	free(snap->h);
	free(snap->hold);
}

static unsigned long long sort_value(const struct entry *e)
{
	const struct mapex_stat_val *v = &e->val;

	switch (opt.sort) {
	case SORT_CONTENDED:	return v->count;
	case SORT_MAX:		return v->max_ns;
	case SORT_AVG:		return v->count ? v->total_ns / v->count : 0;
	case SORT_MIN:		return v->min_ns;
	case SORT_TOTAL:	break;
	}
	return v->total_ns;
}

static int cmp_entry(const void *a, const void *b)
{
	unsigned long long x = sort_value(a), y = sort_value(b);
	const struct entry *ea = a, *eb = b;

	if (x != y)
		return x < y ? 1 : -1;
	if (ea->val.total_ns != eb->val.total_ns)
		return ea->val.total_ns < eb->val.total_ns ? 1 : -1;
	if (ea->key.ino != eb->key.ino)
		return ea->key.ino < eb->key.ino ? -1 : 1;
	return memcmp(&ea->key, &eb->key, sizeof(ea->key));
}

/* ---- holders and stacks ------------------------------------------------ */

/* Read the first line of /proc/<tid>/<what> into buf; false if gone. */
static bool read_task_file(int tid, const char *what, char *buf, size_t n)
{
	char path[64];
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", tid, what);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, n, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/*
 * The tracepoint gives the holder's tid only: its process and comm are
 * known while it lives (read at report time; "-" after it exited).
 */
static void resolve_holders(struct entry *e, size_t n)
{
	char line[256];
	size_t i;
	int tid;
	FILE *f;

	for (i = 0; i < n; i++) {
		tid = e[i].key.holder_pid;
		if (tid <= 0 ||
		    !read_task_file(tid, "comm", e[i].holder_comm,
				    sizeof(e[i].holder_comm)))
			continue;
		snprintf(line, sizeof(line), "/proc/%d/status", tid);
		f = fopen(line, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Tgid: %d", &e[i].holder_tgid) == 1)
				break;
		fclose(f);
	}
}

/* Stack @id of mapex_stacks, allocated, or NULL if it is not there. */
static unsigned long long *load_stack(const struct session *s, int id)
{
	unsigned long long *st;
	__u32 key = id;

	if (s->stacks_fd < 0 || id < 0)
		return NULL;
	st = calloc(MAPEX_STACK_DEPTH, sizeof(*st));
	if (!st)
		die(EXIT_RUNTIME, "out of memory");
	if (bpf_map_lookup_elem(s->stacks_fd, &key, st)) {
		free(st);
		return NULL;
	}
	return st;
}

static void load_stacks(const struct session *s, struct entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (opt.stack_frames)
			e[i].stack = load_stack(s, e[i].key.stack_id);
		/* ustack_id is the id plus 1; 0: none */
		if (opt.ustack_frames)
			e[i].ustack = load_stack(s, e[i].key.ustack_id - 1);
	}
}

/* Frame i of e's kernel stack as "sym+0xoff [mod]", or NULL past its end. */
static const char *frame(const struct entry *e, unsigned int i, char *buf,
			 size_t n)
{
	static struct ksyms *ks;
	static bool tried;

	if (!e->stack || i >= opt.stack_frames || i >= MAPEX_STACK_DEPTH ||
	    !e->stack[i])
		return NULL;
	if (!tried) {
		tried = true;
		ks = ksyms_load("/proc/kallsyms");
	}
	return ksyms_name(ks, e->stack[i], buf, n);
}

/* Frame i of e's user stack (uaddr.h's naming), or NULL past its end. */
static const char *uframe(const struct entry *e, unsigned int i, char *buf,
			  size_t n)
{
	if (!e->ustack || i >= opt.ustack_frames || i >= MAPEX_STACK_DEPTH ||
	    !e->ustack[i])
		return NULL;
	return uaddr_name(e->key.pid, e->ustack[i], buf, n);
}

/* ---- output ------------------------------------------------------------ */

/* -T: the time of day, HH:MM:SS. */
static const char *time_of_day(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%H:%M:%S", &tm))
		snprintf(buf, n, "%lld", (long long)t);
	return buf;
}

static const char *fmt_time(char *buf, size_t n, unsigned long long ns)
{
	if (ns < 1000ULL)
		snprintf(buf, n, "%llu ns", ns);
	else if (ns < 1000000ULL)
		snprintf(buf, n, "%.2f us", ns / 1e3);
	else if (ns < 1000000000ULL)
		snprintf(buf, n, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
	return buf;
}

static const char *mode_str(char *buf, size_t n, unsigned int m)
{
	if (m < ARRAY_SIZE(mapex_mode_names))
		return mapex_mode_names[m];
	if (m == MAPEX_MODE_NONE)
		return "none";
	snprintf(buf, n, "mode%u", m);
	return buf;
}

static const char *op_str(char *buf, size_t n, unsigned int o)
{
	if (o < ARRAY_SIZE(op_names))
		return op_names[o];
	snprintf(buf, n, "op%u", o);
	return buf;
}

static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static unsigned long long hist_total(const struct mapex_hist_val *v)
{
	unsigned long long sum = 0;
	unsigned int i;

	for (i = 0; i < MAPEX_HIST_SLOTS; i++)
		sum += v->slots[i];
	return sum;
}

/* A log2 histogram of ns: "<title>: <total>", then its non-empty range. */
static void print_hist_text(const char *title, const char *what,
			    const struct mapex_hist_val *v)
{
	unsigned long long max = 0, lo, hi;
	char a[16], b[16];
	int first = -1, last = -1, i, j, bar;

	for (i = 0; i < MAPEX_HIST_SLOTS; i++) {
		if (!v->slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (v->slots[i] > max)
			max = v->slots[i];
	}
	printf("\n%s: %llu\n", title, hist_total(v));
	if (first < 0)
		return;
	printf("%25s : %-10s distribution\n", what, "count");
	for (i = first; i <= last; i++) {
		/* Slot i holds [2^i, 2^(i+1)) ns; slot 0 also holds 0. */
		lo = i ? 1ULL << i : 0;
		hi = i == 63 ? ~0ULL : 1ULL << (i + 1);
		bar = max ? (int)(v->slots[i] * 40 / max) : 0;
		printf("%11s -> %-10s : %-10llu |", fmt_time(a, sizeof(a), lo),
		       fmt_time(b, sizeof(b), hi), v->slots[i]);
		for (j = 0; j < 40; j++)
			putchar(j < bar ? '*' : ' ');
		puts("|");
	}
}

/* The non-empty slots of a histogram as a JSON array. */
static void print_slots_json(const struct mapex_hist_val *v)
{
	bool first = true;
	unsigned int k;

	putchar('[');
	for (k = 0; k < MAPEX_HIST_SLOTS; k++) {
		if (!v->slots[k])
			continue;
		printf("%s{\"low_ns\":%llu,\"high_ns\":%llu,\"count\":%llu}",
		       first ? "" : ",", k ? 1ULL << k : 0,
		       k == 63 ? ~0ULL : (1ULL << (k + 1)) - 1, v->slots[k]);
		first = false;
	}
	putchar(']');
}

static void print_text(const struct snapshot *snap, size_t rows,
		       const struct session *s, double secs)
{
	char t1[16], t2[16], t3[16], m1[16], m2[16], pair[40], devino[48];
	char range[48], o[16], sym[1024], title[96];
	const struct mapex_counters *c = &snap->c;
	unsigned long long failed = 0;
	unsigned int j;
	size_t i;

	if (opt.timestamp)
		printf("# %s\n", time_of_day(t1, sizeof(t1)));
	if (s->pinned)
		printf("# pinned collection (totals since --pin)\n");
	else
		printf("# %.1f s\n", secs);
	printf("%10s %12s %12s %12s  %-26s %-20s %-24s %-9s %7s %-16s",
	       "contended", "total wait", "max wait", "avg wait",
	       "waiter->holder", "dev:ino", "range", "op", "pid", "comm");
	if (opt.per_thread)
		printf(" %7s", "tid");
	if (opt.holders)
		printf(" %7s %7s %-16s", "htid", "hpid", "holder comm");
	printf(" %s\n", "path");
	for (i = 0; i < rows; i++) {
		const struct entry *e = &snap->e[i];
		const struct mapex_stat_val *v = &e->val;

		snprintf(pair, sizeof(pair), "%s->%s",
			 mode_str(m1, sizeof(m1), e->key.mode),
			 mode_str(m2, sizeof(m2), e->key.holder_mode));
		snprintf(devino, sizeof(devino), "%u:%u:%llu",
			 KDEV_MAJOR(e->key.dev), KDEV_MINOR(e->key.dev),
			 e->key.ino);
		snprintf(range, sizeof(range), "%llu-%llu", v->last_start,
			 v->last_end);
		printf("%10llu %12s %12s %12s  %-26s %-20s %-24s %-9s %7u %-16.16s",
		       v->count, fmt_time(t1, sizeof(t1), v->total_ns),
		       fmt_time(t2, sizeof(t2), v->max_ns),
		       fmt_time(t3, sizeof(t3),
				v->count ? v->total_ns / v->count : 0),
		       pair, devino, range,
		       op_str(o, sizeof(o), v->last_op), e->key.pid,
		       e->key.comm);
		if (opt.per_thread)
			printf(" %7u", e->key.tid);
		if (opt.holders)
			printf(" %7d %7s %-16s", e->key.holder_pid,
			       e->holder_tgid ? (snprintf(t1, sizeof(t1), "%d",
							  e->holder_tgid), t1) : "-",
			       e->holder_comm[0] ? e->holder_comm : "-");
		printf(" %s\n", e->path ? e->path : "-");
		for (j = 0; frame(e, j, sym, sizeof(sym)); j++)
			printf("%14s%s\n", "", sym);
		for (j = 0; uframe(e, j, sym, sizeof(sym)); j++)
			printf("%14s%s [user]\n", "", sym);
	}
	for (i = 0; i < snap->n; i++)
		failed += snap->e[i].val.failed;
	if (rows < snap->n)
		printf("# entries not shown (-E): %zu\n", snap->n - rows);
	if (failed)
		printf("# waits that failed (killed): %llu\n", failed);
	if (c->stat_drops || c->hist_drops)
		printf("# dropped: %llu waits (%s full, -M), %llu histogram updates\n",
		       c->stat_drops, MAPEX_MAP_STATS, c->hist_drops);
	if (c->refused)
		printf("# requests refused (failed fast): %llu\n",
		       c->refused);
	if (c->stack_drops)
		printf("# stacks not taken (-s, -U): %llu\n", c->stack_drops);
	if (c->hold_drops)
		printf("# holds not timed (-L): %llu\n", c->hold_drops);
	for (i = 0; i < MAPEX_NR_CHECKPOINTS; i++)
		if (c->unguarded[i])
			printf("# unguarded at %s: %llu\n", cp_names[i],
			       c->unguarded[i]);
	for (i = 0; opt.hist && i < snap->nh; i++) {
		const struct hist *h = &snap->h[i];

		if (!want(opt.dev, opt.ino, h->key.mode, h->key.holder_mode))
			continue;
		snprintf(title, sizeof(title), "%s->%s waits",
			 mode_str(m1, sizeof(m1), h->key.mode),
			 mode_str(m2, sizeof(m2), h->key.holder_mode));
		print_hist_text(title, "wait", &h->val);
	}
	for (i = 0; i < snap->nhold; i++) {
		const struct hold *h = &snap->hold[i];

		if (!want(h->key.dev, h->key.ino, h->key.mode, ANY))
			continue;
		snprintf(title, sizeof(title), "%s holds of %u:%u:%llu",
			 mode_str(m1, sizeof(m1), h->key.mode),
			 KDEV_MAJOR(h->key.dev), KDEV_MINOR(h->key.dev),
			 h->key.ino);
		print_hist_text(title, "hold", &h->val);
	}
	fflush(stdout);
}

/* A frame printer: frame i of an entry's stack, or NULL past its end. */
typedef const char *frame_fn(const struct entry *e, unsigned int i,
			     char *buf, size_t n);

/* ,"NAME_id":ID,"NAME":[frames] (null for an ID < 0, a NULL stack). */
static void json_stack(const struct entry *e, const char *name, int id,
		       const unsigned long long *stack, frame_fn *fn)
{
	char sym[1024];
	unsigned int f;

	if (id >= 0)
		printf(",\"%s_id\":%d", name, id);
	else
		printf(",\"%s_id\":null", name);
	printf(",\"%s\":%s", name, stack ? "[" : "null");
	for (f = 0; fn(e, f, sym, sizeof(sym)); f++) {
		printf("%s", f ? "," : "");
		json_str(sym);
	}
	printf("%s", stack ? "]" : "");
}

static void print_json(const struct snapshot *snap, size_t rows,
		       const struct session *s, double secs)
{
	const struct mapex_counters *c = &snap->c;
	char m1[16], m2[16], o[16], tod[32];
	size_t i, j;

	printf("{\"source\":\"%s\",\"seconds\":%.3f,",
	       s->pinned ? "pinned" : "loaded", secs);
	if (opt.timestamp)
		printf("\"time\":\"%s\",", time_of_day(tod, sizeof(tod)));
	printf("\"entries\":[");
	for (i = 0; i < rows; i++) {
		const struct entry *e = &snap->e[i];
		const struct mapex_stat_val *v = &e->val;

		printf("%s{\"dev\":\"%u:%u\",\"ino\":%llu,\"waiter\":\"%s\",\"holder\":\"%s\","
		       "\"contended\":%llu,\"total_ns\":%llu,\"max_ns\":%llu,\"min_ns\":%llu,"
		       "\"avg_ns\":%llu,\"failed\":%llu,\"last_start\":%llu,\"last_end\":%llu,"
		       "\"last_op\":\"%s\",\"last_result\":%d,\"path\":",
		       i ? "," : "", KDEV_MAJOR(e->key.dev),
		       KDEV_MINOR(e->key.dev), e->key.ino,
		       mode_str(m1, sizeof(m1), e->key.mode),
		       mode_str(m2, sizeof(m2), e->key.holder_mode),
		       v->count, v->total_ns, v->max_ns, v->min_ns,
		       v->count ? v->total_ns / v->count : 0, v->failed,
		       v->last_start, v->last_end,
		       op_str(o, sizeof(o), v->last_op), v->last_result);
		json_str(e->path);
		printf(",\"pid\":%u,\"comm\":", e->key.pid);
		json_str(e->key.comm);
		if (e->key.tid)
			printf(",\"tid\":%u", e->key.tid);
		else
			printf(",\"tid\":null");
		if (e->key.holder_pid > 0)
			printf(",\"holder_tid\":%d", e->key.holder_pid);
		else
			printf(",\"holder_tid\":null");
		if (e->holder_tgid)
			printf(",\"holder_pid\":%d", e->holder_tgid);
		else
			printf(",\"holder_pid\":null");
		printf(",\"holder_comm\":");
		json_str(e->holder_comm[0] ? e->holder_comm : NULL);
		json_stack(e, "stack", e->key.stack_id, e->stack, frame);
		/* ustack_id is the id plus 1; 0: none */
		json_stack(e, "user_stack", e->key.ustack_id - 1, e->ustack,
			   uframe);
		putchar('}');
	}
	printf("],\"more_entries\":%zu,\"histograms\":[", snap->n - rows);
	for (i = 0, j = 0; i < snap->nh; i++) {
		const struct hist *h = &snap->h[i];

		if (!want(opt.dev, opt.ino, h->key.mode, h->key.holder_mode))
			continue;
		printf("%s{\"waiter\":\"%s\",\"holder\":\"%s\",\"count\":%llu,\"slots\":",
		       j++ ? "," : "", mode_str(m1, sizeof(m1), h->key.mode),
		       mode_str(m2, sizeof(m2), h->key.holder_mode),
		       hist_total(&h->val));
		print_slots_json(&h->val);
		putchar('}');
	}
	printf("],\"holds\":[");
	for (i = 0, j = 0; i < snap->nhold; i++) {
		const struct hold *h = &snap->hold[i];

		if (!want(h->key.dev, h->key.ino, h->key.mode, ANY))
			continue;
		printf("%s{\"dev\":\"%u:%u\",\"ino\":%llu,\"mode\":\"%s\",\"count\":%llu,\"slots\":",
		       j++ ? "," : "", KDEV_MAJOR(h->key.dev),
		       KDEV_MINOR(h->key.dev), h->key.ino,
		       mode_str(m1, sizeof(m1), h->key.mode),
		       hist_total(&h->val));
		print_slots_json(&h->val);
		putchar('}');
	}
	printf("],\"counters\":{\"begin\":%llu,\"end\":%llu,\"filtered\":%llu,"
	       "\"stat_drops\":%llu,\"hist_drops\":%llu,\"refused\":%llu,"
	       "\"stack_drops\":%llu,\"hold_drops\":%llu,\"unguarded\":{",
	       c->begin, c->end, c->filtered, c->stat_drops, c->hist_drops,
	       c->refused, c->stack_drops, c->hold_drops);
	for (i = 0; i < MAPEX_NR_CHECKPOINTS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", cp_names[i],
		       c->unguarded[i]);
	printf("}}}\n");
	fflush(stdout);
}

/* One CSV field: quoted (quotes doubled) when it holds SEP, '"' or EOL. */
static void csv_field(const char *v, bool first)
{
	if (!first)
		fputs(opt.sep, stdout);
	if (!strstr(v, opt.sep) && !strpbrk(v, "\"\n\r")) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (; *v; v++) {
		if (*v == '"')
			putchar('"');
		putchar(*v);
	}
	putchar('"');
}

/* One CSV field: the frames of fn's stack of e, joined by ';'. */
static void csv_stack(const struct entry *e, frame_fn *fn)
{
	char *buf = NULL, sym[1024];
	size_t len = 0;
	unsigned int f;
	FILE *m;

	m = open_memstream(&buf, &len);	/* as long as the frames are */
	for (f = 0; m && fn(e, f, sym, sizeof(sym)); f++)
		fprintf(m, "%s%s", f ? ";" : "", sym);
	if (m)
		fclose(m);
	csv_field(buf ? buf : "", false);
	free(buf);
}

/* -x SEP: a header line before the first report, then one line per row. */
static void print_csv(const struct snapshot *snap, size_t rows)
{
	static const char *const cols[] = {
		"time", "contended", "total_ns", "max_ns", "min_ns", "avg_ns",
		"failed", "waiter", "holder", "dev", "ino", "last_start",
		"last_end", "last_op", "last_result", "pid", "comm", "tid",
		"holder_tid", "holder_pid", "holder_comm", "stack", "path",
		"user_stack",
	};
	static bool header_done;
	char buf[512], tod[32], m[16];
	unsigned int c;
	size_t i;

	if (!header_done) {
		for (c = !opt.timestamp; c < ARRAY_SIZE(cols); c++)
			csv_field(cols[c], c == !opt.timestamp);
		putchar('\n');
		header_done = true;
	}
	time_of_day(tod, sizeof(tod));
	for (i = 0; i < rows; i++) {
		const struct entry *e = &snap->e[i];
		const struct mapex_stat_val *v = &e->val;

		if (opt.timestamp)
			csv_field(tod, true);
		snprintf(buf, sizeof(buf), "%llu", v->count);
		csv_field(buf, !opt.timestamp);
#define CSV_NUM(fmt, x) \
	do { snprintf(buf, sizeof(buf), fmt, x); csv_field(buf, false); } while (0)
		CSV_NUM("%llu", v->total_ns);
		CSV_NUM("%llu", v->max_ns);
		CSV_NUM("%llu", v->min_ns);
		CSV_NUM("%llu", v->count ? v->total_ns / v->count : 0);
		CSV_NUM("%llu", v->failed);
		csv_field(mode_str(m, sizeof(m), e->key.mode), false);
		csv_field(mode_str(m, sizeof(m), e->key.holder_mode), false);
		snprintf(buf, sizeof(buf), "%u:%u", KDEV_MAJOR(e->key.dev),
			 KDEV_MINOR(e->key.dev));
		csv_field(buf, false);
		CSV_NUM("%llu", e->key.ino);
		CSV_NUM("%llu", v->last_start);
		CSV_NUM("%llu", v->last_end);
		csv_field(op_str(m, sizeof(m), v->last_op), false);
		CSV_NUM("%d", v->last_result);
		CSV_NUM("%u", e->key.pid);
		csv_field(e->key.comm, false);
#undef CSV_NUM
		/* Unknown or not collected: an empty field. */
		snprintf(buf, sizeof(buf), e->key.tid ? "%u" : "", e->key.tid);
		csv_field(buf, false);
		snprintf(buf, sizeof(buf), e->key.holder_pid > 0 ? "%d" : "",
			 e->key.holder_pid);
		csv_field(buf, false);
		snprintf(buf, sizeof(buf), e->holder_tgid ? "%d" : "",
			 e->holder_tgid);
		csv_field(buf, false);
		csv_field(e->holder_comm, false);
		csv_stack(e, frame);
		csv_field(e->path ? e->path : "", false);
		csv_stack(e, uframe);
		putchar('\n');
	}
	fflush(stdout);
}

void report(const struct session *s, bool reset, double secs)
{
	struct snapshot snap;
	size_t i, kept = 0, rows;

	read_maps(s, &snap, reset);
	for (i = 0; i < snap.n; i++)
		if (want(snap.e[i].key.dev, snap.e[i].key.ino,
			 snap.e[i].key.mode, snap.e[i].key.holder_mode))
			snap.e[kept++] = snap.e[i];
	snap.n = kept;
	qsort(snap.e, snap.n, sizeof(*snap.e), cmp_entry);
	rows = opt.entries && opt.entries < snap.n ? opt.entries : snap.n;
	resolve_paths(snap.e, rows);
	if (opt.holders)
		resolve_holders(snap.e, rows);
	if (opt.stack_frames || opt.ustack_frames)
		load_stacks(s, snap.e, rows);
	if (opt.sep)
		print_csv(&snap, rows);
	else if (opt.json)
		print_json(&snap, rows, s, secs);
	else
		print_text(&snap, rows, s, secs);
	uaddr_forget();
	free_snapshot(&snap);
}
