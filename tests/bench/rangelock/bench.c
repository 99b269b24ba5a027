// SPDX-License-Identifier: GPL-2.0
/*
 * tests/bench/rangelock/bench.c - benchmark of the mapex range lock
 * (module/rangelock.c built against the unit-test shim) side by side with
 * (a) a pthread_rwlock used as a whole-file lock and (b) a mutex + linked
 * list range lock written here as a baseline.  Prints one table; asserts
 * nothing.  `bench --cg CASE N` runs one case for callgrind.
 */
#include <unistd.h>
#include <sys/wait.h>

#include <kshim.h>
#include "rangelock.h"

/* ---- (b) baseline: mutex + linked list of held ranges ---- */
struct lrange {
	u64 start, end;
	unsigned int mode;
	struct lrange *next, **pprev;
};

struct llock {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct lrange *head;
	int waiters;
};

static const u8 *compat = mapex_default_class.compat;

static int l_conflict(struct llock *l, struct lrange *r)
{
	for (struct lrange *h = l->head; h; h = h->next)
		if (h->start < r->end && r->start < h->end &&
		    !(compat[r->mode] & (1u << h->mode)))
			return 1;
	return 0;
}

static void l_lock(struct llock *l, struct lrange *r, u64 s, u64 e, unsigned int m)
{
	r->start = s;
	r->end = e;
	r->mode = m;
	pthread_mutex_lock(&l->m);
	while (l_conflict(l, r)) {
		l->waiters++;
		pthread_cond_wait(&l->c, &l->m);
		l->waiters--;
	}
	r->next = l->head;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = &l->head;
	l->head = r;
	pthread_mutex_unlock(&l->m);
}

static void l_unlock(struct llock *l, struct lrange *r)
{
	pthread_mutex_lock(&l->m);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	if (l->waiters)
		pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
}

/* ---- the three locks behind one interface ---- */
enum { RW, LIST, MAPEX, NR_LOCKS };

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static struct llock ll = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			   NULL, 0 };
static struct mapex_lock_table T;
static int inode;

union handle {
	struct lrange l;
	struct mapex_range m;
};

/* whole-file rwlock: page-cache modes share, the others are exclusive */
static inline void do_lock(int which, union handle *h, u64 s, u64 e, unsigned int m)
{
	if (which == RW) {
		if (m <= MAPEX_MODE_BUFFERED)
			pthread_rwlock_rdlock(&rw);
		else
			pthread_rwlock_wrlock(&rw);
	} else if (which == LIST) {
		l_lock(&ll, &h->l, s, e, m);
	} else {
		mapex_range_lock(&T, &inode, &h->m, s, e, m);
	}
}

static inline void do_unlock(int which, union handle *h)
{
	if (which == RW)
		pthread_rwlock_unlock(&rw);
	else if (which == LIST)
		l_unlock(&ll, &h->l);
	else
		mapex_range_unlock(&h->m);
}

static union handle held[256];

static void hold(int which, int n)
{
	for (int i = 0; i < n; i++)
		do_lock(which, &held[i], (u64)(i + 1) << 20, ((u64)(i + 1) << 20) + 4096,
			MAPEX_MODE_BUFFERED);
}

static void unhold(int which, int n)
{
	for (int i = 0; i < n; i++)
		do_unlock(which, &held[i]);
}

/* The measured loop; callgrind counts instructions inside it only. */
static noinline void cg_loop(int which, long iters)
{
	union handle h;

	for (long i = 0; i < iters; i++) {
		do_lock(which, &h, 0, 4096, MAPEX_MODE_BUFFERED);
		do_unlock(which, &h);
	}
}

static double ns_per_op(int which, int nheld)
{
	const long iters = 1000000;
	double best = 1e30;

	hold(which, nheld);
	for (int rep = 0; rep < 3; rep++) {
		u64 t0 = ktime_get_ns();

		cg_loop(which, iters);
		double ns = (double)(ktime_get_ns() - t0) / iters;
		if (ns < best)
			best = ns;
	}
	unhold(which, nheld);
	return best;
}

/* instructions per op under callgrind, or -1 */
static double insns_per_op(const char *self, int which, int nheld)
{
	char out[64], cmd[512], line[256];
	const long iters = 20000;
	double total = -1;
	FILE *f;

	if (system("valgrind --version >/dev/null 2>&1") != 0)
		return -1;
	snprintf(out, sizeof(out), "/tmp/mapex-bench-cg.%d", getpid());
	snprintf(cmd, sizeof(cmd),
		 "valgrind --tool=callgrind --callgrind-out-file=%s "
		 "--collect-atstart=no --toggle-collect=cg_loop %s --cg %d %d %ld "
		 ">/dev/null 2>&1", out, self, which, nheld, iters);
	if (system(cmd) != 0)
		return -1;
	f = fopen(out, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8))
			total = atof(strchr(line, ':') + 1);
	fclose(f);
	unlink(out);
	return total < 0 ? -1 : total / iters;
}

/* ---- 2-thread throughput on disjoint ranges ---- */
#define WORK_LOOPS	800
static volatile unsigned long sink;

static void work(void)
{
	for (int i = 0; i < WORK_LOOPS; i++)
		sink += i;
}

struct thr {
	int which, id, random_modes;
	long ops;
	pthread_t t;
};
static int go, halt;

static void *thr_fn(void *arg)
{
	struct thr *t = arg;
	unsigned int seed = 77u + (unsigned int)t->id;
	u64 base = (u64)t->id << 30;
	union handle h;

	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	while (!__atomic_load_n(&halt, __ATOMIC_RELAXED)) {
		/* random: any mode but INVAL */
		unsigned int m = t->random_modes ?
				 (unsigned int)rand_r(&seed) % MAPEX_MODE_INVAL :
				 t->id ? MAPEX_MODE_DIRECT_WRITE :
					 MAPEX_MODE_BUFFERED;
		u64 off = base + (u64)(rand_r(&seed) % 1024) * 4096;

		do_lock(t->which, &h, off, off + 4096, m);
		work();
		do_unlock(t->which, &h);
		t->ops++;
	}
	return NULL;
}

static double mops(int which, int random_modes, int nthreads)
{
	struct thr t[2] = { { which, 0, random_modes, 0, 0 },
			    { which, 1, random_modes, 0, 0 } };
	u64 t0, t1;

	go = halt = 0;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i].t, NULL, thr_fn, &t[i]);
	t0 = ktime_get_ns();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	usleep(500000);
	__atomic_store_n(&halt, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i].t, NULL);
	t1 = ktime_get_ns();
	return (double)(t[0].ops + t[1].ops) * 1e3 / (double)(t1 - t0);
}

static void cell(double v, const char *fmt)
{
	if (v < 0)
		printf(" %10s", "n/a");
	else
		printf(fmt, v);
}

int main(int argc, char **argv)
{
	static const int nheld[] = { 0, 1, 16, 256 };
	double ns[NR_LOCKS][4], ins[NR_LOCKS][4], tp[NR_LOCKS][2], one[NR_LOCKS];
	u64 w0;

	if (mapex_class_init(&mapex_default_class) ||
	    mapex_table_init(&T, &mapex_default_class))
		abort();
	if (argc == 5 && !strcmp(argv[1], "--cg")) {
		int which = atoi(argv[2]), n = atoi(argv[3]);

		hold(which, n);
		cg_loop(which, 1000);	/* warm up */
		cg_loop(which, atol(argv[4]));
		unhold(which, n);
		return 0;
	}

	for (int w = 0; w < NR_LOCKS; w++)
		for (int i = 0; i < 4; i++) {
			ns[w][i] = ns_per_op(w, nheld[i]);
			ins[w][i] = insns_per_op(argv[0], w, nheld[i]);
		}
	w0 = ktime_get_ns();
	for (int i = 0; i < 100000; i++)
		work();
	w0 = (ktime_get_ns() - w0) / 100000;
	for (int w = 0; w < NR_LOCKS; w++) {
		one[w] = mops(w, 0, 1);
		tp[w][0] = mops(w, 0, 2);
		tp[w][1] = mops(w, 1, 2);
	}

	printf("mapex range lock benchmark (userspace build of module/rangelock.c, shim locks)\n\n");
	printf("%-34s %10s %10s %10s %10s %10s\n", "lock+unlock, one thread",
	       "rwlock", "list", "mapex", "mapex/rw", "mapex/list");
	for (int i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "ns/op, %d disjoint held", nheld[i]);
		printf("%-34s", name);
		for (int w = 0; w < NR_LOCKS; w++)
			cell(ns[w][i], " %10.1f");
		printf(" %9.2fx %9.2fx\n", ns[MAPEX][i] / ns[RW][i],
		       ns[MAPEX][i] / ns[LIST][i]);
	}
	for (int i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "insns/op, %d disjoint held", nheld[i]);
		printf("%-34s", name);
		for (int w = 0; w < NR_LOCKS; w++)
			cell(ins[w][i], " %10.0f");
		if (ins[MAPEX][i] < 0 || ins[RW][i] < 0)
			printf(" %10s %10s\n", "n/a", "n/a");
		else
			printf(" %9.2fx %9.2fx\n", ins[MAPEX][i] / ins[RW][i],
			       ins[MAPEX][i] / ins[LIST][i]);
	}
	printf("%-34s %10s %10s %10.2fx\n", "mapex: 256 held / 0 held (ns)", "", "",
	       ns[MAPEX][3] / ns[MAPEX][0]);
	printf("\nthroughput, Mops/s, disjoint 4 KiB ranges, %llu ns of work held\n",
	       (unsigned long long)w0);
	printf("%-34s %10s %10s %10s %10s %10s\n", "", "rwlock", "list", "mapex",
	       "mapex/rw", "mapex/list");
	printf("%-34s", "1 thread, buffered");
	for (int w = 0; w < NR_LOCKS; w++)
		printf(" %10.3f", one[w]);
	printf(" %9.2fx %9.2fx\n", one[MAPEX] / one[RW], one[MAPEX] / one[LIST]);
	printf("%-34s", "2 threads, buffered vs direct wr");
	for (int w = 0; w < NR_LOCKS; w++)
		printf(" %10.3f", tp[w][0]);
	printf(" %9.2fx %9.2fx\n", tp[MAPEX][0] / tp[RW][0], tp[MAPEX][0] / tp[LIST][0]);
	printf("%-34s", "2 threads, random non-inval modes");
	for (int w = 0; w < NR_LOCKS; w++)
		printf(" %10.3f", tp[w][1]);
	printf(" %9.2fx %9.2fx\n", tp[MAPEX][1] / tp[RW][1], tp[MAPEX][1] / tp[LIST][1]);

	printf("\ntargets: uncontended <= 1.5x rwlock: %s (%.2fx); "
	       "256 held <= 3x empty: %s (%.2fx); 2-thread mixed >= 1.8x rwlock: %s (%.2fx)\n",
	       ns[MAPEX][0] <= 1.5 * ns[RW][0] ? "met" : "MISSED", ns[MAPEX][0] / ns[RW][0],
	       ns[MAPEX][3] <= 3 * ns[MAPEX][0] ? "met" : "MISSED", ns[MAPEX][3] / ns[MAPEX][0],
	       tp[MAPEX][0] >= 1.8 * tp[RW][0] ? "met" : "MISSED", tp[MAPEX][0] / tp[RW][0]);
	mapex_table_destroy(&T);
	return 0;
}
