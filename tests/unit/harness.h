/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/unit/harness.h - helpers shared by the range lock unit tests:
 * PASS/FAIL reporting, a test class with the default matrix and recording
 * callbacks, and background lock requests run on their own threads.
 */
#ifndef MAPEX_HARNESS_H
#define MAPEX_HARNESS_H

#include <kshim.h>
#include <unistd.h>
#include "rangelock.h"

static int h_failed;

static inline void h_report(const char *name, int ok, const char *why)
{
	if (ok) {
		printf("PASS: %s\n", name);
	} else {
		printf("FAIL: %s %s\n", name, why ? why : "");
		h_failed = 1;
	}
	fflush(stdout);
}

static inline void h_sleep_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

/* Wait up to 10 s for *p to reach at least v. */
static inline int h_wait_for(const int *p, int v)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) >= v)
			return 1;
		h_sleep_ms(1);
	}
	return 0;
}

/* ---- a class with the default matrix and recording callbacks ---- */
static int h_queued;			/* contention_begin calls */
static int h_ended;			/* contention_end calls */
static unsigned int h_last_holder_mode;
static pid_t h_last_holder_pid;
static int h_last_result;

static inline void h_begin(const struct mapex_range *w, unsigned int holder_mode,
		    pid_t holder_pid)
{
	__atomic_store_n(&h_last_holder_mode, holder_mode, __ATOMIC_RELAXED);
	__atomic_store_n(&h_last_holder_pid, holder_pid, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h_queued, 1, __ATOMIC_RELEASE);
}

static inline void h_end(const struct mapex_range *w, unsigned int holder_mode,
		  u64 wait_ns, int result)
{
	__atomic_store_n(&h_last_result, result, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h_ended, 1, __ATOMIC_RELEASE);
}

static struct mapex_lock_class h_class;

static inline void h_class_setup(void)
{
	h_class = mapex_default_class;
	h_class.name = "test";
	h_class.pcpu = NULL;
	h_class.contention_begin = h_begin;
	h_class.contention_end = h_end;
	if (mapex_class_init(&h_class))
		abort();
}

/* ---- a lock request on its own thread ---- */
enum h_kind { H_LOCK, H_KILLABLE, H_TIMED, H_TRYLOCK, H_NESTED };
#define H_TIMEOUT_MS	200	/* H_TIMED's bound */

struct h_req {
	struct mapex_lock_table *t;
	const void *key;
	u64 start, end;
	unsigned int mode;
	enum h_kind kind;
	struct mapex_range r;
	pthread_t thread;
	struct task_struct *task;
	int started, done, release, result, order;
};

static int h_grant_seq;

static inline int h_do(struct mapex_lock_table *t, const void *key,
		struct mapex_range *r, u64 s, u64 e, unsigned int m,
		enum h_kind kind)
{
	switch (kind) {
	case H_LOCK:
		return mapex_range_lock(t, key, r, s, e, m);
	case H_KILLABLE:
		return mapex_range_lock_killable(t, key, r, s, e, m);
	case H_TIMED:
		return mapex_range_lock_timeout(t, key, r, s, e, m,
						H_TIMEOUT_MS * 1000000L /
						SHIM_JIFFY_NS);
	case H_TRYLOCK:
		return mapex_range_trylock(t, key, r, s, e, m);
	default:
		return mapex_range_trylock_nested(t, key, r, s, e, m);
	}
}

static inline void *h_req_thread(void *arg)
{
	struct h_req *q = arg;
	int granted;

	__atomic_store_n(&q->task, current, __ATOMIC_RELEASE);
	__atomic_store_n(&q->started, 1, __ATOMIC_RELEASE);
	q->result = h_do(q->t, q->key, &q->r, q->start, q->end, q->mode,
			 q->kind);
	granted = q->kind >= H_TRYLOCK ? q->result == 1 : q->result == 0;
	if (granted)
		q->order = __atomic_add_fetch(&h_grant_seq, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);
	if (granted) {
		h_wait_for(&q->release, 1);
		mapex_range_unlock(&q->r);
	}
	return NULL;
}

/* Start a request and wait until it is granted (done) or queued. */
static inline void h_start(struct h_req *q, struct mapex_lock_table *t,
		    const void *key, u64 s, u64 e, unsigned int m,
		    enum h_kind kind)
{
	int queued = __atomic_load_n(&h_queued, __ATOMIC_ACQUIRE);

	memset(q, 0, sizeof(*q));
	q->t = t;
	q->key = key;
	q->start = s;
	q->end = e;
	q->mode = m;
	q->kind = kind;
	if (pthread_create(&q->thread, NULL, h_req_thread, q))
		abort();
	h_wait_for(&q->started, 1);
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&q->done, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&h_queued, __ATOMIC_ACQUIRE) > queued)
			return;
		h_sleep_ms(1);
	}
}

static inline int h_done(struct h_req *q)
{
	return __atomic_load_n(&q->done, __ATOMIC_ACQUIRE);
}

static inline void h_finish(struct h_req *q)
{
	__atomic_store_n(&q->release, 1, __ATOMIC_RELEASE);
	pthread_join(q->thread, NULL);
}

#endif /* MAPEX_HARNESS_H */
