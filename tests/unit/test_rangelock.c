// SPDX-License-Identifier: GPL-2.0
/*
 * tests/unit/test_rangelock.c - deterministic tests of module/rangelock.c:
 * every matrix cell, matrix validation, range edges, FIFO order, trylock,
 * nested trylock, killable waits, bad input (WARN => abort, checked in a
 * forked child), idle objects, objects sharing a bucket, instrumentation,
 * the lone-holder path, the checkpoint query (held by another task).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"

static struct mapex_lock_table T;
static int K1, K2;		/* keys: their addresses */
static const char *const mname[] = MAPEX_MODE_NAMES;

static int idle(void)
{
	return mapex_table_busy_keys(&T) == 0 && shim_lockdep_held == 0;
}

static void test_matrix(void)
{
	/* expected compatibility of the default class (docs/rangelock.md) */
	static const int want[MAPEX_NR_MODES][MAPEX_NR_MODES] = {
		[MAPEX_MODE_FAULT]	  = { 1, 1, 1, 0, 0 },
		[MAPEX_MODE_BUFFERED]	  = { 1, 1, 1, 0, 0 },
		[MAPEX_MODE_DIRECT_READ]  = { 1, 1, 1, 1, 0 },
		[MAPEX_MODE_DIRECT_WRITE] = { 0, 0, 1, 1, 0 },
		[MAPEX_MODE_INVAL]	  = { 0, 0, 0, 0, 0 },
	};
	char name[96];

	for (unsigned int a = 0; a < MAPEX_NR_MODES; a++) {
		for (unsigned int b = 0; b < MAPEX_NR_MODES; b++) {
			struct mapex_range ra, rb, rn;
			int got, nested;

			mapex_range_lock(&T, &K1, &ra, 0, 100, a);
			got = mapex_range_trylock(&T, &K1, &rb, 50, 150, b);
			if (got == 1)
				mapex_range_unlock(&rb);
			nested = mapex_range_trylock_nested(&T, &K1, &rn, 99, 100, b);
			if (nested == 1)
				mapex_range_unlock(&rn);
			mapex_range_unlock(&ra);
			snprintf(name, sizeof(name), "matrix/%s-%s", mname[a], mname[b]);
			h_report(name, got == want[a][b] && nested == want[a][b] &&
				 idle(), "trylock result differs from the matrix");
		}
	}
}

static void test_class_validation(void)
{
	struct mapex_lock_class c = { .name = "v", .nr_modes = 2,
				      .compat = { 0x3, 0x2 } };

	h_report("class/asymmetric", mapex_class_init(&c) == -EINVAL, NULL);
	c.compat[1] = 0x3;
	c.compat[0] = 0x7;
	h_report("class/bit-out-of-range", mapex_class_init(&c) == -EINVAL, NULL);
	c.compat[0] = 0x3;
	c.compat[5] = 0x1;
	h_report("class/unused-row", mapex_class_init(&c) == -EINVAL, NULL);
	c.compat[5] = 0;
	c.nr_modes = 0;
	h_report("class/zero-modes", mapex_class_init(&c) == -EINVAL, NULL);
	c.nr_modes = MAPEX_MAX_MODES + 1;
	h_report("class/too-many-modes", mapex_class_init(&c) == -EINVAL, NULL);
	c.nr_modes = 2;
	h_report("class/valid", mapex_class_init(&c) == 0, NULL);
	mapex_class_exit(&c);

	struct mapex_lock_class e = { .name = "eight", .nr_modes = 8 };
	for (int i = 0; i < 8; i++)	/* i and 7-i exclude each other */
		e.compat[i] = (u8)(0xff & ~(1u << (7 - i))) | (1u << i);
	h_report("class/eight-modes", mapex_class_init(&e) == 0, NULL);
	mapex_class_exit(&e);
	h_report("class/default", mapex_default_class.pcpu != NULL, NULL);
}

/* Returns whether [s2,e2) in m2 is granted while [s1,e1) in m1 is held. */
static int fits(u64 s1, u64 e1, unsigned int m1, u64 s2, u64 e2, unsigned int m2)
{
	struct mapex_range a, b;
	int got;

	mapex_range_lock(&T, &K1, &a, s1, e1, m1);
	got = mapex_range_trylock(&T, &K1, &b, s2, e2, m2);
	if (got == 1)
		mapex_range_unlock(&b);
	mapex_range_unlock(&a);
	return got;
}

static void test_edges(void)
{
	const unsigned int X = MAPEX_MODE_INVAL;
	struct mapex_range a, b;

	h_report("edge/adjacent", fits(0, 100, X, 100, 200, X) == 1 &&
		 fits(100, 200, X, 0, 100, X) == 1, NULL);
	h_report("edge/one-byte-overlap", fits(0, 100, X, 99, 200, X) == 0 &&
		 fits(99, 200, X, 0, 100, X) == 0, NULL);
	h_report("edge/one-byte-ranges", fits(5, 6, X, 6, 7, X) == 1 &&
		 fits(5, 6, X, 5, 6, X) == 0 && fits(5, 6, X, 4, 5, X) == 1, NULL);
	h_report("edge/whole-file", fits(0, U64_MAX, X, 0, 1, X) == 0 &&
		 fits(0, U64_MAX, X, U64_MAX - 1, U64_MAX, X) == 0 &&
		 fits(U64_MAX - 1, U64_MAX, X, 0, U64_MAX, X) == 0 &&
		 fits(0, U64_MAX - 1, X, U64_MAX - 1, U64_MAX, X) == 1, NULL);
	h_report("edge/contained", fits(0, 1000, X, 400, 500, X) == 0 &&
		 fits(400, 500, X, 0, 1000, X) == 0, NULL);

	mapex_range_lock(&T, &K1, &a, 0, U64_MAX, X);
	h_report("edge/other-key", mapex_range_trylock(&T, &K2, &b, 0, U64_MAX, X) == 1 &&
		 mapex_table_busy_keys(&T) == 2, NULL);
	mapex_range_unlock(&b);
	h_report("edge/accessors", mapex_range_key(&a) == &K1 &&
		 mapex_range_start(&a) == 0 && mapex_range_end(&a) == U64_MAX &&
		 mapex_range_mode(&a) == X && mapex_range_pid(&a) == current->pid, NULL);

	struct mapex_lock_table T2;
	mapex_table_init(&T2, &mapex_default_class);
	h_report("edge/other-table", mapex_range_trylock(&T2, &K1, &b, 0, 10, X) == 1, NULL);
	mapex_range_unlock(&b);
	mapex_table_destroy(&T2);
	mapex_range_unlock(&a);
	h_report("edge/idle", idle(), NULL);
}

/* Many held ranges: a request waits for every one it conflicts with. */
static void test_many_blockers(void)
{
	struct mapex_range held[8];
	struct h_req w;
	int ok = 1;

	for (int i = 0; i < 8; i++)
		mapex_range_lock(&T, &K1, &held[i], i * 10, i * 10 + 10,
				 MAPEX_MODE_BUFFERED);
	h_start(&w, &T, &K1, 5, 75, MAPEX_MODE_DIRECT_WRITE, H_LOCK);
	for (int i = 0; i < 8; i++) {
		if (h_done(&w))
			ok = 0;
		mapex_range_unlock(&held[i]);
	}
	ok &= h_wait_for(&w.done, 1) && w.result == 0;
	h_finish(&w);
	h_report("wait/all-blockers", ok && idle(), NULL);
}

/*
 * FIFO: A holds INVAL [0,100); B FAULT [0,10), C DIRECT_WRITE [0,10), D FAULT
 * [50,60), E FAULT [0,10) queue in that order.  On A's release B and D are
 * granted (D conflicts with nobody queued before it), C waits for B, and E
 * (compatible with B) must not overtake C.
 */
static void test_fifo(void)
{
	struct mapex_range a;
	struct h_req b, c, d, e;
	int ok;

	mapex_range_lock(&T, &K1, &a, 0, 100, MAPEX_MODE_INVAL);
	h_start(&b, &T, &K1, 0, 10, MAPEX_MODE_FAULT, H_LOCK);
	h_start(&c, &T, &K1, 0, 10, MAPEX_MODE_DIRECT_WRITE, H_LOCK);
	h_start(&d, &T, &K1, 50, 60, MAPEX_MODE_FAULT, H_LOCK);
	h_start(&e, &T, &K1, 0, 10, MAPEX_MODE_FAULT, H_LOCK);
	ok = !h_done(&b) && !h_done(&c) && !h_done(&d) && !h_done(&e);
	h_report("fifo/all-queued", ok, NULL);

	mapex_range_unlock(&a);
	ok = h_wait_for(&b.done, 1) && h_wait_for(&d.done, 1);
	h_sleep_ms(20);
	ok &= !h_done(&c) && !h_done(&e);
	h_report("fifo/compatible-after-release", ok, NULL);

	h_finish(&b);
	ok = h_wait_for(&c.done, 1);
	h_sleep_ms(20);
	ok &= !h_done(&e);
	h_report("fifo/no-overtaking", ok, "E overtook C");
	h_finish(&c);
	ok = h_wait_for(&e.done, 1) && c.order < e.order;
	h_finish(&d);
	h_finish(&e);
	h_report("fifo/order", ok && idle(), NULL);
}

static void test_trylock(void)
{
	struct mapex_range a, b;
	struct h_req w;
	unsigned long live;
	int ok;

	mapex_range_lock(&T, &K1, &a, 0, 100, MAPEX_MODE_FAULT);
	h_start(&w, &T, &K1, 0, 100, MAPEX_MODE_INVAL, H_LOCK);
	live = mapex_table_busy_keys(&T);
	/* compatible with the holder, but an incompatible waiter is queued */
	ok = mapex_range_trylock(&T, &K1, &b, 50, 60, MAPEX_MODE_BUFFERED) == 0;
	h_report("trylock/respects-waiters", ok, NULL);
	ok = mapex_range_trylock(&T, &K1, &b, 100, 200, MAPEX_MODE_INVAL) == 1;
	mapex_range_unlock(&b);
	h_report("trylock/disjoint", ok && mapex_table_busy_keys(&T) == live, NULL);

	/* nested: ignores the waiter, which then waits for it as well */
	ok = mapex_range_trylock_nested(&T, &K1, &b, 50, 60, MAPEX_MODE_BUFFERED) == 1;
	h_report("nested/ignores-waiters", ok, NULL);
	mapex_range_unlock(&a);
	h_sleep_ms(20);
	h_report("nested/waiter-waits-for-nested", !h_done(&w), NULL);
	mapex_range_unlock(&b);
	ok = h_wait_for(&w.done, 1) && w.result == 0;
	h_report("nested/waiter-granted-after", ok, NULL);
	ok = mapex_range_trylock_nested(&T, &K1, &b, 0, 10, MAPEX_MODE_FAULT) == 0;
	h_report("nested/refused-by-holder", ok, NULL);
	h_finish(&w);

	ok = mapex_range_trylock(&T, &K1, &b, 0, 10, MAPEX_MODE_FAULT) == 1;
	mapex_range_unlock(&b);
	h_report("trylock/uncontended", ok && idle(), NULL);
}

static void test_killable(void)
{
	struct mapex_mode_stats i0, i1, d0, d1;
	struct mapex_range a;
	struct h_req k, w, l;
	int ok, ended;

	mapex_class_read_stats(&h_class, MAPEX_MODE_INVAL, &i0);
	mapex_class_read_stats(&h_class, MAPEX_MODE_DIRECT_WRITE, &d0);

	/* K (INVAL) waits for A (FAULT); W (BUFFERED) waits only for K */
	mapex_range_lock(&T, &K1, &a, 0, 10, MAPEX_MODE_FAULT);
	h_start(&k, &T, &K1, 0, 10, MAPEX_MODE_INVAL, H_KILLABLE);
	h_start(&w, &T, &K1, 0, 10, MAPEX_MODE_BUFFERED, H_LOCK);
	h_report("contention/holder-mode", h_last_holder_mode == MAPEX_MODE_NONE,
		 "W is blocked only by a waiter");
	ended = __atomic_load_n(&h_ended, __ATOMIC_ACQUIRE);
	shim_send_fatal(k.task);
	ok = h_wait_for(&k.done, 1) && k.result == -EINTR;
	h_report("killable/interrupted", ok, NULL);
	ok = h_wait_for(&w.done, 1) && w.result == 0;
	h_report("killable/later-waiter-released", ok, NULL);
	ok = h_wait_for(&h_ended, ended + 2);
	h_finish(&k);
	h_finish(&w);
	mapex_range_unlock(&a);
	h_report("killable/nothing-queued", ok && idle(), NULL);

	/* uninterruptible lock ignores the signal */
	mapex_range_lock(&T, &K1, &a, 0, 10, MAPEX_MODE_INVAL);
	h_start(&l, &T, &K1, 0, 10, MAPEX_MODE_DIRECT_WRITE, H_LOCK);
	h_report("contention/holder", h_last_holder_mode == MAPEX_MODE_INVAL &&
		 h_last_holder_pid == current->pid, NULL);
	shim_send_fatal(l.task);
	h_sleep_ms(20);
	ok = !h_done(&l);
	mapex_range_unlock(&a);
	ok &= h_wait_for(&l.done, 1) && l.result == 0;
	h_finish(&l);
	h_report("killable/plain-lock-ignores-signal", ok && idle(), NULL);

	/* a pending signal does not stop an uncontended killable lock */
	shim_send_fatal(current);
	ok = mapex_range_lock_killable(&T, &K1, &a, 0, 10, MAPEX_MODE_INVAL) == 0;
	mapex_range_unlock(&a);
	shim_clear_fatal();
	h_report("killable/uncontended-with-signal", ok && idle(), NULL);

	/* one INVAL request contended (killed), two granted; one DIRECT_WRITE wait */
	mapex_class_read_stats(&h_class, MAPEX_MODE_INVAL, &i1);
	mapex_class_read_stats(&h_class, MAPEX_MODE_DIRECT_WRITE, &d1);
	h_report("stats/counters", i1.contended - i0.contended == 1 &&
		 i1.acquired - i0.acquired == 2, NULL);
	h_report("stats/wait-time", d1.contended - d0.contended == 1 &&
		 d1.wait_ns > d0.wait_ns && h_last_result == 0, NULL);
}

/* Run fn in a child; PASS if the child aborted (a WARN in the harness). */
static void expect_abort(const char *name, void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open("/dev/null", 1);

		dup2(fd, 2);	/* the WARN text would look like a failure */
		fn();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	h_report(name, WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		 "child did not abort");
}

static void bad_mode(void)
{
	struct mapex_range r;

	mapex_range_lock(&T, &K1, &r, 0, 10, MAPEX_NR_MODES);
}

static void empty_range(void)
{
	struct mapex_range r;

	mapex_range_trylock(&T, &K1, &r, 10, 10, MAPEX_MODE_FAULT);
}

static void inverted_range(void)
{
	struct mapex_range r;

	mapex_range_lock_killable(&T, &K1, &r, 10, 5, MAPEX_MODE_FAULT);
}

static void double_unlock(void)
{
	struct mapex_range r;

	mapex_range_lock(&T, &K1, &r, 0, 10, MAPEX_MODE_FAULT);
	mapex_range_unlock(&r);
	mapex_range_unlock(&r);
}

/* A bounded wait: gives up with nothing queued, or is granted in time. */
static void test_timeout(void)
{
	struct mapex_range a;
	struct h_req k, w;
	int ok;

	/* K (INVAL, timed) waits for A (FAULT); W (BUFFERED) only for K */
	mapex_range_lock(&T, &K1, &a, 0, 10, MAPEX_MODE_FAULT);
	h_start(&k, &T, &K1, 0, 10, MAPEX_MODE_INVAL, H_TIMED);
	h_start(&w, &T, &K1, 0, 10, MAPEX_MODE_BUFFERED, H_LOCK);
	h_sleep_ms(H_TIMEOUT_MS / 4);
	ok = !h_done(&k) && !h_done(&w);
	h_report("timeout/waits-first", ok, NULL);
	ok = h_wait_for(&k.done, 1) && k.result == -ETIMEDOUT;
	h_report("timeout/expires", ok, NULL);
	ok = h_wait_for(&w.done, 1) && w.result == 0;
	h_report("timeout/later-waiter-released", ok, NULL);
	h_finish(&k);
	h_finish(&w);
	mapex_range_unlock(&a);
	h_report("timeout/nothing-queued", idle(), NULL);

	/* the holder leaves before the bound: granted */
	mapex_range_lock(&T, &K1, &a, 0, 10, MAPEX_MODE_DIRECT_WRITE);
	h_start(&k, &T, &K1, 0, 10, MAPEX_MODE_FAULT, H_TIMED);
	h_sleep_ms(H_TIMEOUT_MS / 10);
	mapex_range_unlock(&a);
	ok = h_wait_for(&k.done, 1) && k.result == 0;
	h_finish(&k);
	h_report("timeout/granted-in-time", ok && idle(), NULL);

	/* a fatal signal ends it before the bound */
	mapex_range_lock(&T, &K1, &a, 0, 10, MAPEX_MODE_DIRECT_WRITE);
	h_start(&k, &T, &K1, 0, 10, MAPEX_MODE_FAULT, H_TIMED);
	shim_send_fatal(k.task);
	ok = h_wait_for(&k.done, 1) && k.result == -EINTR;
	h_finish(&k);
	mapex_range_unlock(&a);
	h_report("timeout/killable", ok && idle(), NULL);
}

static void test_bad_input(void)
{
	struct mapex_range r;
	unsigned long w0;
	int ok;

	expect_abort("warn/bad-mode", bad_mode);
	expect_abort("warn/empty-range", empty_range);
	expect_abort("warn/inverted-range", inverted_range);
	expect_abort("warn/double-unlock", double_unlock);

	shim_warn_abort = 0;
	w0 = shim_warn_count;
	ok = mapex_range_lock(&T, &K1, &r, 10, 10, MAPEX_MODE_FAULT) == -EINVAL &&
	     mapex_range_trylock_nested(&T, &K1, &r, 0, 1, 99) == -EINVAL &&
	     shim_warn_count == w0 + 2;
	shim_warn_abort = 1;
	h_report("warn/einval", ok && idle(), NULL);
}

static void test_table(void)
{
	static int keys[100];
	struct mapex_range r[100], x;
	int ok = 1;

	for (int i = 0; i < 100; i++)
		ok &= mapex_range_lock(&T, &keys[i], &r[i], 0, 10, MAPEX_MODE_FAULT) == 0;
	ok &= mapex_table_busy_keys(&T) == 100;
	for (int i = 0; i < 100; i++)
		mapex_range_unlock(&r[i]);
	h_report("table/idle-objects-freed", ok && idle(), NULL);

	/* two objects in one bucket, and adjacent keys, stay independent */
	static char pool[1 << 16];
	const void *k0 = &pool[0], *k1 = NULL;

	for (size_t i = 1; i < sizeof(pool) && !k1; i++)
		if (hash_ptr(&pool[i], T.hash_bits) == hash_ptr(k0, T.hash_bits))
			k1 = &pool[i];
	ok = k1 && mapex_range_lock(&T, k0, &r[0], 0, U64_MAX, MAPEX_MODE_INVAL) == 0 &&
	     mapex_range_trylock(&T, k1, &r[1], 0, U64_MAX, MAPEX_MODE_INVAL) == 1 &&
	     mapex_range_trylock(&T, &pool[1], &x, 0, 1, MAPEX_MODE_INVAL) == 1 &&
	     mapex_table_busy_keys(&T) == 3;
	h_report("table/shared-bucket", ok, NULL);
	/* in the shared bucket, each object still conflicts with itself */
	ok = mapex_range_trylock(&T, k1, &r[2], 5, 6, MAPEX_MODE_FAULT) == 0 &&
	     mapex_range_trylock(&T, k0, &r[2], U64_MAX - 1, U64_MAX,
				 MAPEX_MODE_DIRECT_WRITE) == 0;
	h_report("table/shared-bucket-conflicts", ok, NULL);
	mapex_range_unlock(&x);
	mapex_range_unlock(&r[1]);
	mapex_range_unlock(&r[0]);
	h_report("table/shared-bucket-idle", idle(), NULL);
}

/* The lone-holder path: taken on an empty bucket, closed by any other entry. */
static void test_lone(void)
{
	struct mapex_range a, b, c;
	int ok;

	ok = mapex_range_lock(&T, &K1, &a, 0, 100, MAPEX_MODE_DIRECT_WRITE) == 0 &&
	     mapex_range_unlock_lone(&a) && idle();
	h_report("lone/unlock-lone", ok, NULL);

	/* a second entry moves the lone holder into the tree */
	mapex_range_lock(&T, &K1, &a, 0, 100, MAPEX_MODE_DIRECT_WRITE);
	mapex_range_lock(&T, &K1, &b, 100, 200, MAPEX_MODE_INVAL);
	ok = !mapex_range_unlock_lone(&a) &&
	     mapex_range_trylock(&T, &K1, &c, 99, 100, MAPEX_MODE_INVAL) == 0;
	h_report("lone/closed-by-second-entry", ok, "a was not still held");
	mapex_range_unlock(&a);
	ok = mapex_range_trylock(&T, &K1, &c, 0, 100, MAPEX_MODE_INVAL) == 1;
	mapex_range_unlock(&c);
	mapex_range_unlock(&b);
	h_report("lone/released-from-tree", ok && idle(), NULL);

	/* the last entry leaving the tree reopens the path */
	ok = mapex_range_lock(&T, &K1, &a, 0, 100, MAPEX_MODE_FAULT) == 0 &&
	     mapex_range_unlock_lone(&a) && idle();
	h_report("lone/reopened", ok, NULL);
}

/* mapex_range_held_by_other(): the collision detector's query. */
static void test_held_by_other(void)
{
	const unsigned int dw_inval = (1U << MAPEX_MODE_DIRECT_WRITE) |
				      (1U << MAPEX_MODE_INVAL);
	pid_t me = task_pid_nr(current);
	struct mapex_range a, b, w;

	h_report("held-by-other/empty-bucket",
		 mapex_range_held_by_other(&T, &K1, 0, 100, dw_inval, me + 1) == -1,
		 NULL);
	/* the lone holder, seen through the tree once the query closes it */
	mapex_range_lock(&T, &K1, &a, 100, 200, MAPEX_MODE_DIRECT_WRITE);
	h_report("held-by-other/lone-holder-overlap",
		 mapex_range_held_by_other(&T, &K1, 150, 151, dw_inval, me + 1) ==
		 MAPEX_MODE_DIRECT_WRITE, NULL);
	h_report("held-by-other/own-pid-ignored",
		 mapex_range_held_by_other(&T, &K1, 150, 151, dw_inval, me) == -1,
		 NULL);
	h_report("held-by-other/no-overlap",
		 mapex_range_held_by_other(&T, &K1, 0, 100, dw_inval, me + 1) == -1 &&
		 mapex_range_held_by_other(&T, &K1, 200, 300, dw_inval, me + 1) == -1,
		 NULL);
	h_report("held-by-other/other-key",
		 mapex_range_held_by_other(&T, &K2, 150, 151, dw_inval, me + 1) == -1,
		 NULL);
	h_report("held-by-other/mode-filter",
		 mapex_range_held_by_other(&T, &K1, 150, 151,
					   1U << MAPEX_MODE_INVAL, me + 1) == -1,
		 NULL);
	/* only granted ranges count; a refused trylock leaves nothing */
	mapex_range_lock(&T, &K1, &b, 300, 400, MAPEX_MODE_FAULT);
	h_report("held-by-other/fault-not-asked",
		 mapex_range_held_by_other(&T, &K1, 300, 400, dw_inval, me + 1) == -1,
		 NULL);
	h_report("held-by-other/refused-trylock-leaves-nothing",
		 mapex_range_trylock(&T, &K1, &w, 150, 350, MAPEX_MODE_INVAL) == 0 &&
		 mapex_range_held_by_other(&T, &K1, 200, 300, dw_inval, me + 1) == -1,
		 NULL);
	mapex_range_unlock(&b);
	mapex_range_unlock(&a);
	h_report("held-by-other/released",
		 mapex_range_held_by_other(&T, &K1, 150, 151, dw_inval, me + 1) == -1 &&
		 idle(), NULL);
}

/* mapex_range_handover(): lockdep ownership leaves the task, the range stays. */
static void test_handover(void)
{
	struct mapex_range a, c;
	int ok;

	mapex_range_lock(&T, &K1, &a, 0, 100, MAPEX_MODE_DIRECT_WRITE);
	mapex_range_handover(&a);
	ok = shim_lockdep_held == 0 &&
	     mapex_range_trylock(&T, &K1, &c, 0, 100, MAPEX_MODE_FAULT) == 0;
	h_report("handover/still-held-not-owned", ok, NULL);
	/* the completion unlocks without a lockdep release (none is held) */
	mapex_range_unlock(&a);
	ok = idle();
	h_report("handover/unlock-balanced", ok, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mapex_class_init(&mapex_default_class))
		abort();
	h_class_setup();
	if (mapex_table_init(&T, &h_class))
		abort();

	test_matrix();
	test_class_validation();
	test_edges();
	test_many_blockers();
	test_fifo();
	test_trylock();
	test_killable();
	test_timeout();
	test_bad_input();
	test_table();
	test_lone();
	test_held_by_other();
	test_handover();

	mapex_table_destroy(&T);
	return h_failed;
}
