// SPDX-License-Identifier: GPL-2.0
/*
 * tests/unit/shim/shim.c - runtime of the userspace kernel shim (kshim.h):
 * WARN accounting, per-thread task structs with sleep/wake and a fatal
 * signal flag, per-CPU slots, type-stable slab caches and the rhashtable
 * subset.
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
unsigned long shim_fail_alloc_after;

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

void mutex_lock(struct mutex *m)
{
	might_sleep();
	pthread_mutex_lock(&m->m);
}

/* ---- tasks ---- */

static __thread struct task_struct *shim_task;
static pthread_key_t shim_task_key;
static pthread_once_t shim_task_once = PTHREAD_ONCE_INIT;
static unsigned int shim_next_cpu;

static void shim_task_exit(void *p)
{
	put_task_struct(p);
}

static void shim_task_key_init(void)
{
	pthread_key_create(&shim_task_key, shim_task_exit);
}

struct task_struct *shim_current(void)
{
	struct task_struct *p = shim_task;

	if (likely(p))
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->refs = 1;
	p->pid = (pid_t)syscall(SYS_gettid);
	pthread_once(&shim_task_once, shim_task_key_init);
	pthread_setspecific(shim_task_key, p);
	shim_cpu = __atomic_fetch_add(&shim_next_cpu, 1, __ATOMIC_RELAXED) %
		   SHIM_NR_CPUS;
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

void might_sleep(void)
{
	if (shim_spin_depth) {
		fprintf(stderr, "BUG: sleeping function called with a spinlock held\n");
		abort();
	}
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

/* ---- slab: objects are kept on a free list and never given back ---- */

struct shim_slab_obj {
	struct shim_slab_obj *next_all;		/* every object, for destroy */
	struct shim_slab_obj *next_free;
	/* the object follows, cacheline aligned */
};

#define SHIM_SLAB_HDR	64

struct kmem_cache {
	unsigned long gen;		/* tells stale per-thread caches apart */
	pthread_mutex_t lock;
	size_t size;
	void (*ctor)(void *);
	struct shim_slab_obj *all, *free;
	long live;
};

/* a per-thread free list in front of the cache, as SLUB's per-CPU one */
#define SHIM_TCACHE	16
static unsigned long shim_cache_gen;
static __thread struct {
	unsigned long gen;
	int nr;
	void *objs[SHIM_TCACHE];
} tcache;

struct kmem_cache *kmem_cache_create(const char *name, size_t size,
				     size_t align, slab_flags_t flags,
				     void (*ctor)(void *))
{
	struct kmem_cache *c = calloc(1, sizeof(*c));

	(void)name; (void)align; (void)flags;
	if (!c)
		return NULL;
	c->gen = __atomic_add_fetch(&shim_cache_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&c->lock, NULL);
	c->size = size;
	c->ctor = ctor;
	return c;
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	struct shim_slab_obj *o, *n;

	if (!c)
		return;
	if (__atomic_load_n(&c->live, __ATOMIC_RELAXED)) {
		fprintf(stderr, "kmem_cache_destroy: %ld objects remaining\n",
			c->live);
		abort();
	}
	for (o = c->all; o; o = n) {
		n = o->next_all;
		free(o);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	struct shim_slab_obj *o;

	if (gfp & GFP_KERNEL)
		might_sleep();
	if (shim_fail_alloc_after &&
	    __atomic_sub_fetch(&shim_fail_alloc_after, 1, __ATOMIC_RELAXED) == 0)
		return NULL;
	if (tcache.gen == c->gen && tcache.nr) {
		__atomic_fetch_add(&c->live, 1, __ATOMIC_RELAXED);
		return tcache.objs[--tcache.nr];
	}
	pthread_mutex_lock(&c->lock);
	o = c->free;
	if (o) {
		c->free = o->next_free;
	} else {
		if (posix_memalign((void **)&o, SHIM_SLAB_HDR,
				   SHIM_SLAB_HDR + c->size))
			abort();
		o->next_all = c->all;
		c->all = o;
		if (c->ctor)
			c->ctor((char *)o + SHIM_SLAB_HDR);
	}
	__atomic_fetch_add(&c->live, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->lock);
	return (char *)o + SHIM_SLAB_HDR;
}

void kmem_cache_free(struct kmem_cache *c, void *obj)
{
	struct shim_slab_obj *o = (void *)((char *)obj - SHIM_SLAB_HDR);

	__atomic_fetch_sub(&c->live, 1, __ATOMIC_RELAXED);
	if (tcache.gen != c->gen) {
		tcache.gen = c->gen;
		tcache.nr = 0;
	}
	if (tcache.nr < SHIM_TCACHE) {
		tcache.objs[tcache.nr++] = obj;
		return;
	}
	pthread_mutex_lock(&c->lock);
	o->next_free = c->free;
	c->free = o;
	pthread_mutex_unlock(&c->lock);
}

/* ---- rhashtable subset ---- */

static unsigned int shim_rht_hash(const struct rhashtable *ht, const void *key)
{
	u64 h = (u64)(uintptr_t)*(void *const *)key;

	(void)ht;
	h *= 0x9e3779b97f4a7c15ull;
	return (unsigned int)(h >> 32) % SHIM_RHT_BUCKETS;
}

/* keys are pointers (the subset the range lock needs), read atomically */
static bool shim_rht_match(const struct rhashtable *ht, char *obj,
			   const void *key)
{
	return __atomic_load_n((void **)(obj + ht->p.key_offset),
			       __ATOMIC_RELAXED) == *(void *const *)key;
}

static void *shim_rht_obj(const struct rhashtable *ht, struct rhash_head *h)
{
	return (char *)h - ht->p.head_offset;
}

int rhashtable_init(struct rhashtable *ht, const struct rhashtable_params *p)
{
	if (p->key_len != sizeof(void *))
		return -EINVAL;
	ht->p = *p;
	ht->nelems.counter = 0;
	ht->buckets = calloc(SHIM_RHT_BUCKETS, sizeof(*ht->buckets));
	ht->locks = calloc(SHIM_RHT_BUCKETS, sizeof(*ht->locks));
	if (!ht->buckets || !ht->locks) {
		free(ht->buckets);
		free(ht->locks);
		return -ENOMEM;
	}
	return 0;
}

void rhashtable_destroy(struct rhashtable *ht)
{
	free(ht->buckets);
	free(ht->locks);
	ht->buckets = NULL;
	ht->locks = NULL;
}

/* Lock-free walk: nodes are type-stable, a miss is settled by insert. */
void *shim_rht_lookup(struct rhashtable *ht, const void *key)
{
	unsigned int b = shim_rht_hash(ht, key);
	struct rhash_head *h;

	for (h = __atomic_load_n(&ht->buckets[b], __ATOMIC_ACQUIRE); h;
	     h = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE)) {
		char *obj = shim_rht_obj(ht, h);

		if (shim_rht_match(ht, obj, key))
			return obj;
	}
	return NULL;
}

void *shim_rht_insert(struct rhashtable *ht, struct rhash_head *node)
{
	char *obj = shim_rht_obj(ht, node);
	const void *key = obj + ht->p.key_offset;
	unsigned int b = shim_rht_hash(ht, key);
	struct rhash_head *h;

	spin_lock(&ht->locks[b]);
	for (h = ht->buckets[b]; h; h = h->next) {
		char *o = shim_rht_obj(ht, h);

		if (shim_rht_match(ht, o, key)) {
			spin_unlock(&ht->locks[b]);
			return o;
		}
	}
	__atomic_store_n(&node->next, ht->buckets[b], __ATOMIC_RELAXED);
	__atomic_store_n(&ht->buckets[b], node, __ATOMIC_RELEASE);
	__atomic_fetch_add(&ht->nelems.counter, 1, __ATOMIC_RELAXED);
	spin_unlock(&ht->locks[b]);
	return NULL;
}

int shim_rht_remove(struct rhashtable *ht, struct rhash_head *node)
{
	char *obj = shim_rht_obj(ht, node);
	unsigned int b = shim_rht_hash(ht, obj + ht->p.key_offset);
	struct rhash_head **pp;

	spin_lock(&ht->locks[b]);
	for (pp = &ht->buckets[b]; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			__atomic_store_n(pp, node->next, __ATOMIC_RELEASE);
			__atomic_fetch_add(&ht->nelems.counter, -1,
					   __ATOMIC_RELAXED);
			spin_unlock(&ht->locks[b]);
			return 0;
		}
	}
	spin_unlock(&ht->locks[b]);
	return -ENOENT;
}
