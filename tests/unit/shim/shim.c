// SPDX-License-Identifier: GPL-2.0
/*
 * tests/unit/shim/shim.c - runtime of the userspace kernel shim (kshim.h):
 * WARN accounting, per-thread task structs with sleep/wake and a fatal
 * signal flag, per-CPU slots and kvcalloc.
 */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kshim.h"

int shim_verbose;
int shim_warn_abort = 1;
unsigned long shim_warn_count;
__thread int shim_spin_depth;
__thread int shim_lockdep_held;
__thread unsigned int shim_cpu;

void shim_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&shim_warn_count, 1, __ATOMIC_RELAXED);
	if (shim_verbose || shim_warn_abort) {
		fprintf(stderr, "WARNING at %s:%d: ", file, line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (shim_warn_abort)
		abort();
}

void shim_lockdep_release_underflow(void)
{
	fprintf(stderr, "lockdep: release without acquire\n");
	abort();
}

/* ---- tasks ---- */

__thread struct task_struct *shim_task;
static pthread_key_t shim_task_key;
static pthread_once_t shim_task_once = PTHREAD_ONCE_INIT;
static u64 shim_cpus_busy;	/* bit n: slot n belongs to a live thread */

/* Each live thread owns one per-CPU slot, as a task on a CPU would. */
static unsigned int shim_cpu_claim(void)
{
	u64 busy = __atomic_load_n(&shim_cpus_busy, __ATOMIC_RELAXED);
	unsigned int n;

	do {
		if (busy == ~0ull) {
			fprintf(stderr, "shim: more than %d live threads\n",
				SHIM_NR_CPUS);
			abort();
		}
		n = (unsigned int)__builtin_ctzll(~busy);
	} while (!__atomic_compare_exchange_n(&shim_cpus_busy, &busy,
					      busy | (1ull << n), false,
					      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return n;
}

static void shim_task_exit(void *p)
{
	__atomic_fetch_and(&shim_cpus_busy, ~(1ull << shim_cpu),
			   __ATOMIC_RELEASE);
	put_task_struct(p);
}

static void shim_task_key_init(void)
{
	pthread_key_create(&shim_task_key, shim_task_exit);
}

struct task_struct *shim_current_slow(void)
{
	struct task_struct *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->refs = 1;
	p->pid = (pid_t)syscall(SYS_gettid);
	pthread_once(&shim_task_once, shim_task_key_init);
	pthread_setspecific(shim_task_key, p);
	shim_cpu = shim_cpu_claim();
	shim_task = p;
	return p;
}

void get_task_struct(struct task_struct *p)
{
	__atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED);
}

void put_task_struct(struct task_struct *p)
{
	if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		pthread_mutex_destroy(&p->mtx);
		pthread_cond_destroy(&p->cond);
		free(p);
	}
}

void shim_sleep_in_atomic(void)
{
	fprintf(stderr, "BUG: sleeping function called with a spinlock held\n");
	abort();
}

void set_current_state(int state)
{
	struct task_struct *p = current;

	pthread_mutex_lock(&p->mtx);
	p->state = state;
	pthread_mutex_unlock(&p->mtx);
}

void schedule(void)
{
	struct task_struct *p = current;

	might_sleep();
	pthread_mutex_lock(&p->mtx);
	while (p->state != TASK_RUNNING) {
		if ((p->state & TASK_WAKEKILL) &&
		    __atomic_load_n(&p->fatal, __ATOMIC_RELAXED))
			p->state = TASK_RUNNING;
		else
			pthread_cond_wait(&p->cond, &p->mtx);
	}
	pthread_mutex_unlock(&p->mtx);
}

/* As schedule(), for at most @timeout jiffies: what is left (0: expired). */
long schedule_timeout(long timeout)
{
	struct task_struct *p = current;
	struct timespec deadline, now;
	long long ns;

	might_sleep();
	clock_gettime(CLOCK_REALTIME, &deadline);
	ns = deadline.tv_nsec + (long long)timeout * SHIM_JIFFY_NS;
	deadline.tv_sec += ns / 1000000000LL;
	deadline.tv_nsec = ns % 1000000000LL;
	pthread_mutex_lock(&p->mtx);
	while (p->state != TASK_RUNNING) {
		if ((p->state & TASK_WAKEKILL) &&
		    __atomic_load_n(&p->fatal, __ATOMIC_RELAXED))
			p->state = TASK_RUNNING;
		else if (pthread_cond_timedwait(&p->cond, &p->mtx,
						&deadline) == ETIMEDOUT)
			p->state = TASK_RUNNING;
	}
	pthread_mutex_unlock(&p->mtx);
	clock_gettime(CLOCK_REALTIME, &now);
	ns = (deadline.tv_sec - now.tv_sec) * 1000000000LL +
	     (deadline.tv_nsec - now.tv_nsec);
	return ns > 0 ? (long)((ns + SHIM_JIFFY_NS - 1) / SHIM_JIFFY_NS) : 0;
}

int wake_up_process(struct task_struct *p)
{
	int woke;

	pthread_mutex_lock(&p->mtx);
	woke = p->state != TASK_RUNNING;
	p->state = TASK_RUNNING;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	return woke;
}

void shim_send_fatal(struct task_struct *p)
{
	pthread_mutex_lock(&p->mtx);
	__atomic_store_n(&p->fatal, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mtx);
}

void shim_clear_fatal(void)
{
	__atomic_store_n(&current->fatal, 0, __ATOMIC_RELEASE);
}

u64 ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

void *shim_alloc_percpu(size_t size)
{
	if (size > SHIM_PCPU_STRIDE)
		abort();
	return calloc(SHIM_NR_CPUS, SHIM_PCPU_STRIDE);
}

/* ---- kvmalloc family ---- */

void *kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	if (gfp & GFP_KERNEL)
		might_sleep();
	return calloc(n, size);
}
