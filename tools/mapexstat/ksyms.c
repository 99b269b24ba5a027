// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/ksyms.c - kernel symbols for mapexstat: reads
 * /proc/kallsyms once into an array sorted by address and names addresses
 * by binary search (the symbol at or below the address).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"

struct ksym {
	unsigned long long addr;
	char *name;		/* "name" or "name [module]" */
};

struct ksyms {
	struct ksym *syms;
	size_t n;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

void ksyms_free(struct ksyms *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++)
		free(ks->syms[i].name);
	free(ks->syms);
	free(ks);
}

struct ksyms *ksyms_load(const char *path)
{
	char line[512], name[256], mod[128], type;
	unsigned long long addr;
	struct ksyms *ks;
	size_t cap = 0;
	FILE *f;
	int n;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		mod[0] = '\0';
		n = sscanf(line, "%llx %c %255s %127s", &addr, &type, name,
			   mod);
		if (n < 3 || !addr)
			continue;
		if (ks->n == cap) {
			struct ksym *p;

			cap = cap ? 2 * cap : 65536;
			p = realloc(ks->syms, cap * sizeof(*p));
			if (!p)
				goto fail;
			ks->syms = p;
		}
		if (mod[0])
			n = asprintf(&ks->syms[ks->n].name, "%s %s", name, mod);
		else
			n = asprintf(&ks->syms[ks->n].name, "%s", name);
		if (n < 0)
			goto fail;
		ks->syms[ks->n++].addr = addr;
	}
	fclose(f);
	if (!ks->n) {
		ksyms_free(ks);
		return NULL;
	}
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_ksym);
	return ks;
fail:
	fclose(f);
	ksyms_free(ks);
	return NULL;
}

const char *ksyms_name(const struct ksyms *ks, unsigned long long addr,
		       char *buf, size_t n)
{
	const struct ksym *s = NULL;
	size_t lo = 0, hi = ks ? ks->n : 0;
	const char *mod;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr) {
			s = &ks->syms[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (!s) {
		snprintf(buf, n, "0x%llx", addr);
		return buf;
	}
	/* "name [mod]" prints as "name+0xoff [mod]". */
	mod = strchr(s->name, ' ');
	if (mod)
		snprintf(buf, n, "%.*s+0x%llx%s", (int)(mod - s->name), s->name,
			 addr - s->addr, mod);
	else
		snprintf(buf, n, "%s+0x%llx", s->name, addr - s->addr);
	return buf;
}
