/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/bench/bpf-links.h - attach and detach the programs of a pinned
 * mapexstat collection (`mapexstat --pin`), for tests/bench/interleave's
 * attached/not-attached slices.
 */
#ifndef MAPEX_BENCH_BPF_LINKS_H
#define MAPEX_BENCH_BPF_LINKS_H

struct pinned_links;

/*
 * Take over the raw tracepoint links pinned in DIR: their pins are removed
 * and this process holds the only references, so detaching them (closing
 * the link) really detaches the programs.  Returns NULL with a message on
 * stderr when DIR holds no such link or a BPF call fails; then the pins are
 * as they were.
 */
struct pinned_links *links_take(const char *dir);
/* Attach (1) or detach (0) every program; 0, or -1 with a message. */
int links_set(struct pinned_links *l, int attached);
/* Attach every program and pin its link where it was; 0, or -1. */
int links_give_back(struct pinned_links *l);

#endif
