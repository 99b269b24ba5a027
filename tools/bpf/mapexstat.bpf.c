// SPDX-License-Identifier: GPL-2.0
/*
 * tools/bpf/mapexstat.bpf.c - BPF side of mapexstat: raw tracepoint programs
 * on the mapex tracepoints that aggregate lock waits per (dev, ino, waiter
 * mode, holder mode, waiter pid and comm; optionally tid, holder pid,
 * kernel and user stack), log2 wait histograms per mode pair, and event/drop
 * counters, in maps pinned by name under /sys/fs/bpf/mapex/.
 * contention_begin (in the waiter's context) notes the holder and the stack
 * per waiting thread; contention_end records the wait. With -L only,
 * release (which fires on every locked operation, and carries the hold's
 * duration) adds holds to log2 histograms per inode and mode; with -L and
 * --comm or --cgroup, acquire notes the filters' verdict on the taker, for
 * releases that run in another context.
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

/* Filters, set by mapexstat before load; zero/~0/"" means "any". */
const volatile __u32 targ_tgid;
const volatile __u32 targ_tid;
const volatile __u64 targ_cgroup;
const volatile char targ_comm[MAPEX_COMM_LEN];
const volatile __u32 targ_dev;
const volatile __u64 targ_ino;
const volatile __u32 targ_mode = ~0U;
const volatile __u32 targ_holder = ~0U;

/* Key detail, set by mapexstat: -t, -o, -s, -U. */
const volatile bool per_thread;
const volatile bool holders;
const volatile bool stacks;
const volatile bool user_stacks;
const volatile bool hold_times;

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
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAPEX_STACK_ENTRIES);
	__type(key, __u32);
	__type(value, mapex_stack_t);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mapex_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAPEX_HOLD_ENTRIES);
	__type(key, struct mapex_hold_key);
	__type(value, struct mapex_hist_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mapex_hold SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAPEX_WAITING_ENTRIES);
	__type(key, __u32);
	__type(value, struct mapex_waiting);
} mapex_waiting SEC(".maps");

/*
 * -L with --comm or --cgroup: how many holds of this (taker, range, mode)
 * the filters kept or left out at their grant, for a release that runs
 * in another context (AIO completion) and cannot ask the taker.  LRU: an
 * entry a release never came for (the hold began before the release event
 * was on) ages out; a release whose entry aged out is a hold_drop.
 */
struct mapex_taker_key {
	__u32 tid;
	__u32 dev;
	__u32 mode;
	__u32 pad;
	__u64 ino;
	__u64 start;
	__u64 end;
};

struct mapex_taker_val {
	__s64 kept;
	__s64 left_out;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAPEX_TAKER_ENTRIES);
	__type(key, struct mapex_taker_key);
	__type(value, struct mapex_taker_val);
} mapex_takers SEC(".maps");

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

/* Is comm other than the --comm filter? */
static __always_inline bool comm_differs(const char *comm)
{
	int i;

	for (i = 0; i < MAPEX_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return true;
		if (!comm[i])
			break;
	}
	return false;
}

/*
 * Is this range outside the filters --inode, --mode, --holder (and the
 * device of --inode)?
 */
static __always_inline bool range_filtered(__u32 dev, __u64 ino, __u32 mode,
					   __u32 holder)
{
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

/* Is the current task outside --comm and --cgroup? */
static __always_inline bool task_filtered(const char *comm)
{
	if (targ_comm[0] && comm_differs(comm))
		return true;
	if (targ_cgroup && bpf_get_current_cgroup_id() != targ_cgroup)
		return true;
	return false;
}

/* ... or is the current task outside -p, --tid, --comm, --cgroup? */
static __always_inline bool filtered(__u32 dev, __u64 ino, __u32 mode,
				     __u32 holder, const char *comm)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (targ_tgid && (id >> 32) != targ_tgid)
		return true;
	if (targ_tid && (__u32)id != targ_tid)
		return true;
	if (task_filtered(comm))
		return true;
	return range_filtered(dev, ino, mode, holder);
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

/*
 * Count ns in the log2 histogram of key in map (mapex_hist, mapex_hold),
 * creating it if need be; false when the map is full.
 */
static __always_inline bool hist_add(void *map, const void *key, __u64 ns)
{
	struct mapex_hist_val *h;
	__u32 slot = log2_slot(ns);

	h = bpf_map_lookup_elem(map, key);
	if (!h) {
		bpf_map_update_elem(map, key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(map, key);
		if (!h)
			return false;
	}
	/* Keep clang from folding the bound check the verifier needs. */
	barrier_var(slot);
	if (slot < MAPEX_HIST_SLOTS)
		__sync_fetch_and_add(&h->slots[slot], 1);
	return true;
}

static __always_inline void record_hist(struct mapex_counters *c,
					__u32 mode, __u32 holder, __u64 wait)
{
	struct mapex_hist_key key = { .mode = mode, .holder_mode = holder };

	if (!hist_add(&mapex_hist, &key, wait))
		count(&c->hist_drops);
}

SEC("raw_tp/mapex_contention_begin")
int mapex_begin(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_counters *c = counters();
	struct mapex_waiting w = { .stack_id = MAPEX_NO_STACK };
	char comm[MAPEX_COMM_LEN];
	__u32 tid;

	if (!c)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
	/* Arguments up to holder_mode have the same order as in _end. */
	if (filtered(ctx->args[MAPEX_END_DEV], ctx->args[MAPEX_END_INO],
		     ctx->args[MAPEX_END_MODE], ctx->args[MAPEX_END_HOLDER_MODE],
		     comm))
		return 0;
	count(&c->begin);
	if (!holders && !stacks && !user_stacks)
		return 0;
	if (holders)
		w.holder_pid = ctx->args[MAPEX_BEGIN_HOLDER_PID];
	if (stacks) {
		w.stack_id = bpf_get_stackid(ctx, &mapex_stacks, 0);
		if (w.stack_id < 0) {
			w.stack_id = MAPEX_NO_STACK;
			count(&c->stack_drops);
		}
	}
	/*
	 * The waiter's user stack, from its saved user registers: complete
	 * only through code built with frame pointers.
	 */
	if (user_stacks) {
		long id = bpf_get_stackid(ctx, &mapex_stacks,
					  BPF_F_USER_STACK);

		if (id >= 0)
			w.ustack_id = id + 1;
		else
			count(&c->stack_drops);
	}
	tid = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&mapex_waiting, &tid, &w, BPF_ANY);
	return 0;
}

/* Take what contention_begin noted for this thread into the key. */
static __always_inline void take_waiting(struct mapex_stat_key *key,
					 __u32 tid)
{
	struct mapex_waiting *w;

	key->stack_id = MAPEX_NO_STACK;
	if (!holders && !stacks && !user_stacks)
		return;
	w = bpf_map_lookup_elem(&mapex_waiting, &tid);
	if (!w)
		return;
	key->holder_pid = w->holder_pid;
	key->stack_id = w->stack_id;
	key->ustack_id = w->ustack_id;
	bpf_map_delete_elem(&mapex_waiting, &tid);
}

SEC("raw_tp/mapex_contention_end")
int mapex_end(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_counters *c = counters();
	struct mapex_stat_key key = {};
	__u64 wait = ctx->args[MAPEX_END_WAIT_NS];
	__u64 id = bpf_get_current_pid_tgid();

	if (!c)
		return 0;
	key.dev = ctx->args[MAPEX_END_DEV];
	key.ino = ctx->args[MAPEX_END_INO];
	key.mode = ctx->args[MAPEX_END_MODE];
	key.holder_mode = ctx->args[MAPEX_END_HOLDER_MODE];
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (filtered(key.dev, key.ino, key.mode, key.holder_mode, key.comm)) {
		count(&c->filtered);
		return 0;
	}
	count(&c->end);
	key.pid = id >> 32;
	if (per_thread)
		key.tid = id;
	take_waiting(&key, id);
	record_stat(c, &key, wait, ctx->args[MAPEX_END_START],
		    ctx->args[MAPEX_END_END], ctx->args[MAPEX_END_OP],
		    (__s32)ctx->args[MAPEX_END_RESULT]);
	record_hist(c, key.mode, key.holder_mode, wait);
	return 0;
}

/* The mapex_takers key of a grant or release event (the taker's tid). */
static __always_inline void taker_key(struct mapex_taker_key *k,
				      struct bpf_raw_tracepoint_args *ctx,
				      __u32 tid)
{
	k->tid = tid;
	k->dev = ctx->args[MAPEX_END_DEV];
	k->mode = ctx->args[MAPEX_END_MODE];
	k->ino = ctx->args[MAPEX_END_INO];
	k->start = ctx->args[MAPEX_END_START];
	k->end = ctx->args[MAPEX_END_END];
}

/* Take one hold off *n if it has one: true if it had. */
static __always_inline bool take_one(__s64 *n)
{
	if (*n <= 0)
		return false;
	if (__sync_fetch_and_add(n, -1) > 0)
		return true;
	__sync_fetch_and_add(n, 1);	/* another release took the last */
	return false;
}

/*
 * -L with --comm or --cgroup (not loaded otherwise): the range is granted,
 * in the taker's context; note whether the filters keep the taker.
 */
SEC("raw_tp/mapex_acquire")
int mapex_acquire(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_taker_val init = {}, *v;
	struct mapex_taker_key k = {};
	char comm[MAPEX_COMM_LEN] = {};

	taker_key(&k, ctx, (__u32)bpf_get_current_pid_tgid());
	if (range_filtered(k.dev, k.ino, k.mode, targ_holder))
		return 0;	/* the release leaves it out first */
	v = bpf_map_lookup_elem(&mapex_takers, &k);
	if (!v) {
		bpf_map_update_elem(&mapex_takers, &k, &init, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&mapex_takers, &k);
		if (!v)
			return 0;	/* the release counts a hold_drop */
	}
	if (targ_comm[0])
		bpf_get_current_comm(comm, sizeof(comm));
	__sync_fetch_and_add(task_filtered(comm) ? &v->left_out : &v->kept, 1);
	return 0;
}

/*
 * The filters' verdict on the taker @tid of a hold that is released now:
 * 1 kept, 0 left out, -1 unknown (granted before mapexstat attached, or
 * its note aged out).
 */
static __always_inline int taker_verdict(struct bpf_raw_tracepoint_args *ctx,
					 __u32 tid)
{
	struct mapex_taker_key k = {};
	struct mapex_taker_val *v;

	taker_key(&k, ctx, tid);
	v = bpf_map_lookup_elem(&mapex_takers, &k);
	if (!v)
		return -1;
	if (take_one(&v->kept))
		return 1;
	if (take_one(&v->left_out))
		return 0;
	return -1;
}

/*
 * -L only (not loaded otherwise): a hold is over, and the module says how
 * long it lasted and who took it (mapex_release's held_ns, pid, tid: the
 * release may run in another context, an AIO completion).  0 ns: granted
 * while the event was off, before mapexstat attached.  --comm and
 * --cgroup are the taker's at its grant (mapex_acquire above), or, for a
 * hold granted before that program was attached and released by its
 * taker, the taker's now; any other hold is counted in hold_drops instead
 * of guessed.
 */
SEC("raw_tp/mapex_release")
int mapex_release(struct bpf_raw_tracepoint_args *ctx)
{
	struct mapex_counters *c = counters();
	struct mapex_hold_key hk = {};
	__u64 held = ctx->args[MAPEX_REL_HELD_NS];
	__u32 tgid = ctx->args[MAPEX_REL_PID];
	__u32 tid = ctx->args[MAPEX_REL_TID];
	char comm[MAPEX_COMM_LEN] = {};
	int kept;

	if (!c || !hold_times || !held)
		return 0;
	if ((targ_tgid && tgid != targ_tgid) || (targ_tid && tid != targ_tid))
		return 0;
	hk.dev = ctx->args[MAPEX_END_DEV];
	hk.mode = ctx->args[MAPEX_END_MODE];
	hk.ino = ctx->args[MAPEX_END_INO];
	if (range_filtered(hk.dev, hk.ino, hk.mode, targ_holder))
		return 0;
	if (targ_comm[0] || targ_cgroup) {
		kept = taker_verdict(ctx, tid);
		if (kept < 0 && (__u32)bpf_get_current_pid_tgid() == tid) {
			if (targ_comm[0])
				bpf_get_current_comm(comm, sizeof(comm));
			kept = !task_filtered(comm);
		}
		if (kept < 0) {
			count(&c->hold_drops);
			return 0;
		}
		if (!kept)
			return 0;
	}
	if (!hist_add(&mapex_hold, &hk, held))
		count(&c->hold_drops);
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
