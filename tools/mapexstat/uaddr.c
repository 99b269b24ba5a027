// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/uaddr.c - user addresses of a waiting process as
 * "file+0xoffset", from /proc/PID/maps, for the user stacks of -U.  No ELF
 * symbols are read: the file and offset are what addr2line needs, and they
 * stay right for stripped binaries.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uaddr.h"

struct umap {
	unsigned long long start, end, pgoff;
	char *name;			/* NULL: anonymous */
};

struct uproc {
	int pid;
	size_t n;
	struct umap *m;			/* NULL, n == 0: gone or unreadable */
	struct uproc *next;
};

static struct uproc *procs;

static void umaps_read(struct uproc *p)
{
	char path[64], line[4352], name[4096];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, pgoff;
		struct umap *m;
		int off = 0;

		name[0] = '\0';
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end,
			   &pgoff, &off) < 3)
			continue;
		if (off > 0 && sscanf(line + off, "%4095[^\n]", name) != 1)
			name[0] = '\0';
		if (p->n == cap) {
			cap = cap ? 2 * cap : 64;
			m = realloc(p->m, cap * sizeof(*m));
			if (!m)
				break;
			p->m = m;
		}
		m = &p->m[p->n++];
		m->start = start;
		m->end = end;
		m->pgoff = pgoff;
		m->name = name[0] ? strdup(name) : NULL;
	}
	fclose(f);
}

static const struct uproc *uproc_get(int pid)
{
	struct uproc *p;

	for (p = procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	umaps_read(p);
	p->next = procs;
	procs = p;
	return p;
}

const char *uaddr_name(int pid, unsigned long long addr, char *buf, size_t n)
{
	const struct uproc *p = uproc_get(pid);
	size_t i;

	for (i = 0; p && i < p->n; i++) {
		const struct umap *m = &p->m[i];

		if (addr < m->start || addr >= m->end || !m->name)
			continue;
		/* a file: the offset into it; [stack] and the like: into the map */
		if (m->name[0] == '/')
			snprintf(buf, n, "%s+0x%llx", m->name,
				 addr - m->start + m->pgoff);
		else
			snprintf(buf, n, "%s+0x%llx", m->name, addr - m->start);
		return buf;
	}
	snprintf(buf, n, "0x%llx", addr);
	return buf;
}

void uaddr_forget(void)
{
	while (procs) {
		struct uproc *p = procs;
		size_t i;

		procs = p->next;
		for (i = 0; i < p->n; i++)
			free(p->m[i].name);
		free(p->m);
		free(p);
	}
}
