/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/mapexstat/ksyms.h - kernel address to symbol lookup for mapexstat's
 * waiter stacks (-s), from /proc/kallsyms.
 */
#ifndef MAPEXSTAT_KSYMS_H
#define MAPEXSTAT_KSYMS_H

#include <stddef.h>

struct ksyms;

/* Load /proc/kallsyms (or another file in its format); NULL on failure. */
struct ksyms *ksyms_load(const char *path);
void ksyms_free(struct ksyms *ks);

/*
 * Write "name+0xoff [module]" for addr into buf; "0x<addr>" when no
 * symbol covers it (or addresses are hidden: kptr_restrict).
 */
const char *ksyms_name(const struct ksyms *ks, unsigned long long addr,
		       char *buf, size_t n);

#endif /* MAPEXSTAT_KSYMS_H */
