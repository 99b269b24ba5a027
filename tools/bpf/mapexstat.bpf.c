// SPDX-License-Identifier: GPL-2.0
/*
 * tools/bpf/mapexstat.bpf.c - BPF side of mapexstat: raw tracepoint programs
 * on the mapex tracepoints that aggregate lock waits per (dev, ino, waiter
 * mode, holder mode), log2 wait histograms per mode pair, and event/drop
 * counters, in maps pinned by name under /sys/fs/bpf/mapex/.
 *
 * Raw tracepoints need no module BTF: arguments are read from ctx->args[]
 * in the order of module/trace.h (indices in include/mapex/stat.h).
 * Built with -mcpu=v3 for the 64-bit compare-and-exchange used by max/min.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <mapex/stat.h>

#define EEXIST_ERR	(-17)

/* Filters, set by mapexstat before load; zero/~0 means "any". */
const volatile __u32 targ_tgid;
const volatile __u32 targ_dev;
const volatile __u64 targ_ino;
const volatile __u32 targ_mode = ~0U;
const volatile __u32 targ_holder = ~0U;

/* A zeroed histogram to create entries from (too big for the BPF stack). */
static const struct mapex_hist_val zero_hist;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAPEX_STATS_ENTRIES);
	__type(key, struct mapex_stat_key);
	__type(value, struct mapex_stat_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mapex_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAPEX_HIST_ENTRIES);
	__type(key, struct mapex_hist_key);
	__type(value, struct mapex_hist_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mapex_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mapex_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mapex_counters SEC(".maps");

static __always_inline struct mapex_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mapex_counters, &zero);
}

static __always_inline void count(unsigned long long *field)
{
	__sync_fetch_and_add(field, 1);
}

/* Is this event outside the -p/--inode/--mode filters? */
static __always_inline bool filtered(__u32 dev, __u64 ino, __u32 mode,
				     __u32 holder)
{
	if (targ_tgid && (bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return true;
	if (targ_dev && dev != targ_dev)
		return true;
	if (targ_ino && ino != targ_ino)
		return true;
	if (targ_mode != ~0U && mode != targ_mode)
		return true;
	if (targ_holder != ~0U && holder != targ_holder)
		return true;
	return false;
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffff) << 4; v >>= s; r |= s;
	s = (v > 0xff) << 3; v >>= s; r |= s;
	s = (v > 0xf) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r & (MAPEX_HIST_SLOTS - 1);
}

/* Raise *p to at least v (want_max) or lower it to at most v. */
static __always_inline void cas_extreme(unsigned long long *p, __u64 v,
					bool want_max)
{
	int i;

	for (i = 0; i < 8; i++) {
		__u64 old = *(volatile unsigned long long *)p;

		if (want_max ? old >= v : old <= v)
			return;
		if (__sync_val_compare_and_swap(p, old, v) == old)
			return;
	}
}

static __always_inline void record_stat(struct mapex_counters *c,
					struct mapex_stat_key *key, __u64 wait,
					__u64 start, __u64 end, __u32 op,
					__s32 result)
{
	struct mapex_stat_val *val;
	long err;

	val = bpf_map_lookup_elem(&mapex_stats, key);
	if (!val) {
		struct mapex_stat_val init = {
			.count = 1, .total_ns = wait,
			.max_ns = wait, .min_ns = wait,
			.failed = result != 0,
			.last_start = start, .last_end = end,
			.last_op = op, .last_result = result,
		};

		err = bpf_map_update_elem(&mapex_stats, key, &init,
					  BPF_NOEXIST);
		if (!err)
			return;
		/* Lost a race with another CPU creating the same entry? */
		if (err == EEXIST_ERR)
			val = bpf_map_lookup_elem(&mapex_stats, key);
		if (!val) {
			count(&c->stat_drops);
			return;
		}
	}
	__sync_fetch_and_add(&val->count, 1);
	__sync_fetch_and_add(&val->total_ns, wait);
	if (result)
		__sync_fetch_and_add(&val->failed, 1);
	cas_extreme(&val->max_ns, wait, true);
	cas_extreme(&val->min_ns, wait, false);
	val->last_start = start;
	val->last_end = end;
	val->last_op = op;
	val->last_result = result;
}

static __always_inline void record_hist(struct mapex_counters *c,
					__u32 mode, __u32 holder, __u64 wait)
{
	struct mapex_hist_key key = { .mode = mode, .holder_mode = holder };
	struct mapex_hist_val *h;
	__u32 slot = log2_slot(wait);

	h = bpf_map_lookup_elem(&mapex_hist, &key);
	if (!h) {
		bpf_map_update_elem(&mapex_hist, &key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&mapex_hist, &key);
		if (!h) {
			count(&c->hist_drops);
			return;
		}
	}
	/* Keep clang from folding the bound check the verifier needs. */
	barrier_var(slot);
	if (slot < MAPEX_HIST_SLOTS)
		__sync_fetch_and_add(&h->slots[slot], 1);
}

SEC("raw_tp/mapex_contention_begin")
int mapex_begin(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_counters *c = counters();

	if (!c)
		return 0;
	/* Arguments up to holder_mode have the same order as in _end. */
	if (filtered(ctx->args[MAPEX_END_DEV], ctx->args[MAPEX_END_INO],
		     ctx->args[MAPEX_END_MODE], ctx->args[MAPEX_END_HOLDER_MODE]))
		return 0;
	count(&c->begin);
	return 0;
}

SEC("raw_tp/mapex_contention_end")
int mapex_end(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_counters *c = counters();
	struct mapex_stat_key key = {};
	__u64 wait = ctx->args[MAPEX_END_WAIT_NS];

	if (!c)
		return 0;
	key.dev = ctx->args[MAPEX_END_DEV];
	key.ino = ctx->args[MAPEX_END_INO];
	key.mode = ctx->args[MAPEX_END_MODE];
	key.holder_mode = ctx->args[MAPEX_END_HOLDER_MODE];
	if (filtered(key.dev, key.ino, key.mode, key.holder_mode)) {
		count(&c->filtered);
		return 0;
	}
	count(&c->end);
	record_stat(c, &key, wait, ctx->args[MAPEX_END_START],
		    ctx->args[MAPEX_END_END], ctx->args[MAPEX_END_OP],
		    (__s32)ctx->args[MAPEX_END_RESULT]);
	record_hist(c, key.mode, key.holder_mode, wait);
	return 0;
}

SEC("raw_tp/mapex_refused")
int mapex_refused(struct bpf_raw_tracepoint_args *ctx __attribute__((unused)))
{
	struct mapex_counters *c = counters();

	if (c)
		count(&c->refused);
	return 0;
}

SEC("raw_tp/mapex_unguarded")
int mapex_unguarded(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_counters *c = counters();
	__u64 cp = ctx->args[MAPEX_UNG_CHECKPOINT];

	if (c && cp < MAPEX_NR_CHECKPOINTS)
		count(&c->unguarded[cp]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
