/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/unit/shim/kshim.h - the userspace stand-in for the kernel APIs that
 * module/rangelock.c uses, so the harness and the benchmark compile that
 * same file.  Every <linux/...> header the module includes (except the
 * rbtree and interval tree headers, extracted from the kernel's tools/
 * tree at build time) is a one-line file including this one.
 *
 * What the shim checks besides standing in:
 *  - WARN*() counts, and aborts unless shim_warn_abort is cleared;
 *  - sleeping (schedule, GFP_KERNEL allocation) with a spinlock held aborts;
 *  - lock_acquire/lock_release keep a per-thread count (shim_lockdep_held).
 * Runtime parts live in shim.c.
 */
#ifndef MAPEX_KSHIM_H
#define MAPEX_KSHIM_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- types and compiler ---- */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;
typedef unsigned int gfp_t;
typedef unsigned int slab_flags_t;
typedef struct { int counter; } atomic_t;

#define U64_MAX			UINT64_MAX
#define __percpu
#define __rcu
#define __must_check		__attribute__((warn_unused_result))
#undef __always_inline
#define __always_inline		inline __attribute__((always_inline))
#define noinline		__attribute__((noinline))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define __acquires(x)
#define __releases(x)
#define __acquire(x)		((void)0)
#define __release(x)		((void)0)
#define EXPORT_SYMBOL(x)
#define EXPORT_SYMBOL_GPL(x)
#define _RET_IP_		((unsigned long)__builtin_return_address(0))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* the tree code stores through these; everything runs under a lock */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* both return the old value, as the kernel's do */
#define shim_cmpxchg(p, o, n, order) ({					\
	__typeof__(*(p)) __old = (o);					\
	__atomic_compare_exchange_n((p), &__old, (n), 0, (order),	\
				    __ATOMIC_RELAXED);			\
	__old;								\
})
#define cmpxchg(p, o, n)	shim_cmpxchg(p, o, n, __ATOMIC_SEQ_CST)
#define cmpxchg_release(p, o, n) shim_cmpxchg(p, o, n, __ATOMIC_RELEASE)
#define xchg(p, n)		__atomic_exchange_n((p), (n), __ATOMIC_SEQ_CST)
#define cpu_relax()		sched_yield()

static inline int atomic_read(const atomic_t *a)
{
	return __atomic_load_n(&a->counter, __ATOMIC_RELAXED);
}

/* ---- errors and printing ---- */
#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long e) { return (void *)e; }
static inline long PTR_ERR(const void *p) { return (long)p; }
static inline bool IS_ERR(const void *p) { return IS_ERR_VALUE(p); }

extern int shim_verbose;
#define pr_err(...)	do { if (shim_verbose) fprintf(stderr, __VA_ARGS__); } while (0)
#define pr_warn		pr_err
#define pr_info		pr_err

/* ---- WARN: counted; aborts the process unless shim_warn_abort == 0 ---- */
extern int shim_warn_abort;
extern unsigned long shim_warn_count;
void shim_warn(const char *file, int line, const char *fmt, ...);

#define WARN(cond, ...) ({						\
	int __c = !!(cond);						\
	if (unlikely(__c))						\
		shim_warn(__FILE__, __LINE__, __VA_ARGS__);		\
	__c;								\
})
#define WARN_ON(cond)		WARN(cond, "%s", #cond)
#define WARN_ONCE(cond, ...)	WARN(cond, __VA_ARGS__)
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#define BUG_ON(cond)		do { if (cond) abort(); } while (0)

/* ---- spinlocks ---- */
typedef struct { int locked; } spinlock_t;
extern __thread int shim_spin_depth;

static inline void spin_lock_init(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELAXED);
}

static inline void spin_lock(spinlock_t *l)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			if (++spins % 64 == 0)
				sched_yield();
	}
	shim_spin_depth++;
}

static inline void spin_unlock(spinlock_t *l)
{
	shim_spin_depth--;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* no interrupts in userspace: the irq and bh variants are the plain lock */
#define spin_lock_bh(l)				spin_lock(l)
#define spin_unlock_bh(l)			spin_unlock(l)
#define spin_lock_irq(l)			spin_lock(l)
#define spin_unlock_irq(l)			spin_unlock(l)
#define spin_lock_irqsave(l, flags)		((flags) = 0, spin_lock(l))
#define spin_unlock_irqrestore(l, flags)	((void)(flags), spin_unlock(l))


/* ---- lockdep: a per-thread count of annotated holds ---- */
#define CONFIG_DEBUG_LOCK_ALLOC 1
struct lock_class_key { char unused; };
struct lockdep_map { const char *name; const struct lock_class_key *key; };
extern __thread int shim_lockdep_held;
static inline void lockdep_init_map(struct lockdep_map *m, const char *name,
				    struct lock_class_key *key, int sub)
{
	(void)sub;
	m->name = name;
	m->key = key;
}

void shim_lockdep_release_underflow(void);
#define MAX_LOCKDEP_SUBCLASSES		8UL
#define lock_acquire_shared(m, s, t, n, ip)		((void)(m), (void)(s), (void)(t), shim_lockdep_held++)
#define lock_acquire_shared_recursive(m, s, t, n, ip)	((void)(m), (void)(s), (void)(t), shim_lockdep_held++)
#define lock_acquire_exclusive(m, s, t, n, ip)		((void)(m), (void)(s), (void)(t), shim_lockdep_held++)
#define lock_release(m, ip) do {					\
	(void)(m);							\
	if (--shim_lockdep_held < 0)					\
		shim_lockdep_release_underflow();			\
} while (0)
#define lock_contended(m, ip)	((void)(m))
#define lock_acquired(m, ip)	((void)(m))

/* ---- tasks, sleeping and fatal signals ---- */
#define TASK_RUNNING		0x0000
#define TASK_UNINTERRUPTIBLE	0x0002
#define TASK_WAKEKILL		0x0100
#define TASK_KILLABLE		(TASK_WAKEKILL | TASK_UNINTERRUPTIBLE)

struct task_struct {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	int state;
	int refs;
	int fatal;		/* "fatal signal pending" */
	pid_t pid;
};

/* current: the thread's task, created on first use (shim_current_slow) */
extern __thread struct task_struct *shim_task;
struct task_struct *shim_current_slow(void);
static inline struct task_struct *shim_current(void)
{
	struct task_struct *p = shim_task;

	return likely(p) ? p : shim_current_slow();
}
#define current shim_current()
void set_current_state(int state);
#define __set_current_state(s) set_current_state(s)
void schedule(void);
/* the shim's jiffy is 20 us, short enough for the model to time out often */
#define SHIM_JIFFY_NS		20000L
#define MAX_SCHEDULE_TIMEOUT	LONG_MAX
long schedule_timeout(long timeout);
int wake_up_process(struct task_struct *p);
void get_task_struct(struct task_struct *p);
void put_task_struct(struct task_struct *p);
void shim_send_fatal(struct task_struct *p);	/* test hook: "kill -9" */
void shim_clear_fatal(void);
void shim_sleep_in_atomic(void);
static inline void might_sleep(void)
{
	if (unlikely(shim_spin_depth))
		shim_sleep_in_atomic();
}

static inline bool fatal_signal_pending(struct task_struct *p)
{
	return __atomic_load_n(&p->fatal, __ATOMIC_ACQUIRE);
}

static inline pid_t task_pid_nr(struct task_struct *p)
{
	return p->pid;
}

u64 ktime_get_ns(void);

/*
 * ---- per-CPU counters: SHIM_NR_CPUS slots, one per live thread ----
 * The owner updates its slot with plain (relaxed) loads and stores, as
 * this_cpu_add() does on a CPU; readers sum the slots with READ_ONCE().
 */
#define SHIM_NR_CPUS		64
#define SHIM_PCPU_STRIDE	4096
extern __thread unsigned int shim_cpu;
void *shim_alloc_percpu(size_t size);
#define alloc_percpu(type)	((type *)shim_alloc_percpu(sizeof(type)))
#define free_percpu(p)		free((void *)(p))
#define per_cpu_ptr(p, cpu) \
	((__typeof__(p))((char *)(p) + (size_t)(cpu) * SHIM_PCPU_STRIDE))
#define for_each_possible_cpu(cpu) \
	for ((cpu) = 0; (cpu) < SHIM_NR_CPUS; (cpu)++)
#define this_cpu_add(pcp, v) do {					\
	__typeof__(&(pcp)) __p = (__typeof__(&(pcp)))((char *)&(pcp) +	\
			(size_t)shim_cpu * SHIM_PCPU_STRIDE);		\
	__atomic_store_n(__p, __atomic_load_n(__p, __ATOMIC_RELAXED) + (v), \
			 __ATOMIC_RELAXED);				\
} while (0)
#define this_cpu_inc(pcp)	this_cpu_add(pcp, 1)

/* ---- allocation, hashing and sizing ---- */
#define GFP_KERNEL		0x1u
#define nr_cpu_ids		((unsigned int)SHIM_NR_CPUS)
#define ____cacheline_aligned_in_smp	__attribute__((aligned(64)))

void *kvcalloc(size_t n, size_t size, gfp_t gfp);
#define kvfree(p)		free(p)

static inline u32 hash_ptr(const void *p, unsigned int bits)
{
	return (u32)(((u64)(uintptr_t)p * 0x61c8864680b583ebull) >> (64 - bits));
}

static inline unsigned long roundup_pow_of_two(unsigned long n)
{
	return n <= 1 ? 1 : 1UL << (64 - __builtin_clzl(n - 1));
}

#define ilog2(n)		(63 - __builtin_clzl((unsigned long)(n)))
#define clamp(v, lo, hi)	((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))

#endif /* MAPEX_KSHIM_H */
