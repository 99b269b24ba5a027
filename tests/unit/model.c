// SPDX-License-Identifier: GPL-2.0
/*
 * tests/unit/model.c - randomized model test of module/rangelock.c, built
 * plain, with ThreadSanitizer and with AddressSanitizer.
 *
 * Worker threads take random ranges of three keys in random modes (lock,
 * killable lock, bounded wait, trylock, and nested trylock while holding),
 * a killer
 * thread sends "fatal signals" at random, and an independent checker (a
 * mutex and a list of its own, not the lock's structures) asserts at every
 * grant that no two incompatible granted ranges overlap.  A watchdog fails
 * the run if any request waits longer than a bound far above the expected
 * wait (starvation or a lost wakeup).  Two of the keys share a bucket of
 * the table and the third does not, so requests of different objects in
 * one bucket tree are exercised on every run.
 *
 * Usage: model SECONDS; reports PASS/FAIL lines prefixed by $MODEL_FLAVOUR.
 */
#include <unistd.h>

#include "harness.h"

#define NR_WORKERS	6
#define NR_KEYS		3
#define SPACE		256		/* bytes of each "file" in use */
#define MAX_HELD	(NR_WORKERS * 2)

static const u8 model_compat[MAPEX_NR_MODES] = {
	[MAPEX_MODE_FAULT]		= 0x07,
	[MAPEX_MODE_BUFFERED]		= 0x07,
	[MAPEX_MODE_DIRECT_READ]	= 0x0f,
	[MAPEX_MODE_DIRECT_WRITE]	= 0x0c,
	[MAPEX_MODE_INVAL]		= 0x00,
};

static struct mapex_lock_table T;
static const void *keys[NR_KEYS];
static char key_pool[1 << 16];	/* candidate keys: their addresses */

/* keys[0] and keys[1] hash to one bucket, keys[2] to another */
static void pick_keys(void)
{
	u32 first = hash_ptr(&key_pool[0], T.hash_bits);

	keys[0] = &key_pool[0];
	keys[1] = keys[2] = NULL;
	for (size_t i = 1; i < sizeof(key_pool) && !(keys[1] && keys[2]); i++) {
		u32 h = hash_ptr(&key_pool[i], T.hash_bits);

		if (h == first && !keys[1])
			keys[1] = &key_pool[i];
		else if (h != first && !keys[2])
			keys[2] = &key_pool[i];
	}
	if (!keys[1] || !keys[2])
		abort();
}
static int stop;
static const char *flavour = "plain";

/* ---- the independent checker ---- */
struct held {
	const void *key;
	u64 start, end;
	unsigned int mode;
};

static pthread_mutex_t chk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held chk_held[MAX_HELD];
static int chk_nr;
static long chk_violations, chk_grants;

static void chk_grant(const void *key, u64 s, u64 e, unsigned int m)
{
	pthread_mutex_lock(&chk_lock);
	for (int i = 0; i < chk_nr; i++) {
		struct held *h = &chk_held[i];

		if (h->key == key && h->start < e && s < h->end &&
		    !(model_compat[m] & (1u << h->mode))) {
			if (chk_violations++ < 5)
				fprintf(stderr, "violation: [%llu,%llu) %u vs [%llu,%llu) %u\n",
					(unsigned long long)s, (unsigned long long)e, m,
					(unsigned long long)h->start,
					(unsigned long long)h->end, h->mode);
		}
	}
	if (chk_nr == MAX_HELD)
		abort();
	chk_held[chk_nr++] = (struct held){ key, s, e, m };
	chk_grants++;
	pthread_mutex_unlock(&chk_lock);
}

static void chk_release(const void *key, u64 s, u64 e, unsigned int m)
{
	pthread_mutex_lock(&chk_lock);
	for (int i = 0; i < chk_nr; i++) {
		struct held *h = &chk_held[i];

		if (h->key == key && h->start == s && h->end == e && h->mode == m) {
			chk_held[i] = chk_held[--chk_nr];
			break;
		}
	}
	pthread_mutex_unlock(&chk_lock);
}

/* ---- workers ---- */
struct worker {
	pthread_t thread;
	struct task_struct *task;
	unsigned int seed;
	u64 wait_since;		/* 0 when not waiting */
	long ops, killed, tryfail, nested, timedout;
	int lockdep_left;
};

static struct worker W[NR_WORKERS];

static unsigned int rnd(struct worker *w, unsigned int n)
{
	return (unsigned int)(rand_r(&w->seed) % n);
}

static void rnd_range(struct worker *w, u64 *s, u64 *e)
{
	if (rnd(w, 32) == 0) {
		*s = 0;
		*e = U64_MAX;
		return;
	}
	*s = rnd(w, SPACE);
	*e = *s + 1 + rnd(w, rnd(w, 4) ? 16 : SPACE);
}

static void hold_for(struct worker *w)
{
	unsigned int n = rnd(w, 4);

	if (n == 0)
		sched_yield();
	else if (n == 1)
		usleep(rnd(w, 50));
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	/* the killer may use it until it is joined: main drops this ref */
	get_task_struct(current);
	__atomic_store_n(&w->task, current, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		const void *key = keys[rnd(w, NR_KEYS)];
		unsigned int m = rnd(w, MAPEX_NR_MODES), kind = rnd(w, 8);
		struct mapex_range r, n;
		u64 s, e, ns, ne;
		int ret;

		rnd_range(w, &s, &e);
		if (kind < 5) {
			__atomic_store_n(&w->wait_since, ktime_get_ns(), __ATOMIC_RELEASE);
			if (kind < 3)
				ret = mapex_range_lock(&T, key, &r, s, e, m);
			else if (kind == 3)
				ret = mapex_range_lock_killable(&T, key, &r, s,
								e, m);
			else	/* a bounded wait of 1 or 2 jiffies (20 us) */
				ret = mapex_range_lock_timeout(&T, key, &r, s,
							       e, m,
							       1 + rnd(w, 2));
			__atomic_store_n(&w->wait_since, 0, __ATOMIC_RELEASE);
			if (ret == -EINTR) {
				w->killed++;
				shim_clear_fatal();
				continue;
			}
			if (ret == -ETIMEDOUT) {
				w->timedout++;
				shim_clear_fatal();
				continue;
			}
			if (ret)
				abort();
		} else {
			ret = mapex_range_trylock(&T, key, &r, s, e, m);
			if (ret < 0)
				abort();
			if (!ret) {
				w->tryfail++;
				continue;
			}
		}
		chk_grant(key, s, e, m);
		w->ops++;
		hold_for(w);
		/* a nested request from a holder, e.g. a fault inside a read */
		if (rnd(w, 4) == 0) {
			unsigned int nm = rnd(w, MAPEX_NR_MODES);

			rnd_range(w, &ns, &ne);
			ret = mapex_range_trylock_nested(&T, key, &n, ns, ne, nm);
			if (ret == 1) {
				chk_grant(key, ns, ne, nm);
				w->nested++;
				hold_for(w);
				chk_release(key, ns, ne, nm);
				mapex_range_unlock(&n);
			}
		}
		chk_release(key, s, e, m);
		mapex_range_unlock(&r);
		shim_clear_fatal();
	}
	w->lockdep_left = shim_lockdep_held;
	return NULL;
}

/* ---- killer and watchdog ---- */
static void *killer_fn(void *arg)
{
	unsigned int seed = 12345;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct worker *w = &W[rand_r(&seed) % NR_WORKERS];
		struct task_struct *t = __atomic_load_n(&w->task, __ATOMIC_ACQUIRE);

		if (t && __atomic_load_n(&w->wait_since, __ATOMIC_ACQUIRE))
			shim_send_fatal(t);
		usleep(200 + rand_r(&seed) % 800);
	}
	return NULL;
}

static u64 max_wait_seen;

static int any_starved(u64 bound)
{
	u64 now = ktime_get_ns();

	for (int i = 0; i < NR_WORKERS; i++) {
		u64 since = __atomic_load_n(&W[i].wait_since, __ATOMIC_ACQUIRE);

		if (since && now > since && now - since > max_wait_seen)
			max_wait_seen = now - since;
		if (since && now > since && now - since > bound)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 4;
	/* an expected wait is well under a millisecond; allow 10 s */
	const u64 bound = 10ull * 1000000000ull;
	pthread_t killer;
	char name[128];
	long ops = 0, killed = 0, tryfail = 0, nested = 0, lockdep = 0;
	long timedout = 0;
	int starved = 0;
	struct mapex_mode_stats st;
	u64 acquired = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("MODEL_FLAVOUR"))
		flavour = getenv("MODEL_FLAVOUR");
	if (mapex_class_init(&mapex_default_class) ||
	    mapex_table_init(&T, &mapex_default_class))
		abort();
	pick_keys();
	for (int i = 0; i < NR_WORKERS; i++) {
		W[i].seed = 1000u + (unsigned int)i * 7919u + (unsigned int)time(NULL);
		pthread_create(&W[i].thread, NULL, worker_fn, &W[i]);
	}
	pthread_create(&killer, NULL, killer_fn, NULL);

	for (unsigned int t = 0; t < seconds * 10 && !starved; t++) {
		usleep(100000);
		starved = any_starved(bound);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	/* workers must all finish: keep watching while they drain */
	for (int i = 0; i < 200 && !starved; i++) {
		int busy = 0;

		for (int j = 0; j < NR_WORKERS; j++)
			busy |= __atomic_load_n(&W[j].wait_since, __ATOMIC_ACQUIRE) != 0;
		if (!busy)
			break;
		usleep(100000);
		starved = any_starved(bound);
	}
	if (starved) {
		printf("FAIL: model/%s/progress a request waited more than 10 s\n",
		       flavour);
		fflush(stdout);
		_exit(1);
	}
	pthread_join(killer, NULL);
	for (int i = 0; i < NR_WORKERS; i++) {
		pthread_join(W[i].thread, NULL);
		put_task_struct(W[i].task);	/* the killer is done with it */
		ops += W[i].ops;
		killed += W[i].killed;
		timedout += W[i].timedout;
		tryfail += W[i].tryfail;
		nested += W[i].nested;
		lockdep |= W[i].lockdep_left;
	}
	for (unsigned int m = 0; m < MAPEX_NR_MODES; m++) {
		mapex_class_read_stats(&mapex_default_class, m, &st);
		acquired += st.acquired;
	}
	printf("# model/%s: %ld grants, %ld nested, %ld killed, %ld timed out, %ld trylock refusals, max wait %.1f ms\n",
	       flavour, ops, nested, killed, timedout, tryfail,
	       max_wait_seen / 1e6);

	snprintf(name, sizeof(name), "model/%s/exclusion", flavour);
	h_report(name, chk_violations == 0, "incompatible overlapping grants");
	snprintf(name, sizeof(name), "model/%s/progress", flavour);
	h_report(name, ops > 0 && killed > 0 && nested > 0 && timedout > 0,
		 "some kind of request never happened");
	snprintf(name, sizeof(name), "model/%s/counters", flavour);
	h_report(name, acquired == (u64)chk_grants && lockdep == 0,
		 "acquired counter or lockdep balance off");
	snprintf(name, sizeof(name), "model/%s/idle", flavour);
	h_report(name, mapex_table_busy_keys(&T) == 0, "objects left");
	mapex_table_destroy(&T);
	mapex_class_exit(&mapex_default_class);
	return h_failed;
}
