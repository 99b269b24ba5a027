/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/bench/bench-util.h - what the bench programs of tests/bench share:
 * a monotonic clock in seconds and a cheap random generator.
 */
#ifndef MAPEX_BENCH_UTIL_H
#define MAPEX_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: enough for shuffling pages and picking offsets. */
static inline uint64_t bench_rand_r(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

/* The same, on one generator for a single-threaded program. */
static inline uint64_t bench_rand(void)
{
	static uint64_t state = 0x9e3779b97f4a7c15ULL;

	return bench_rand_r(&state);
}

#endif
