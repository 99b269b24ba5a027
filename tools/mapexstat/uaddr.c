// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/uaddr.c - user addresses of a waiting process for the
 * user stacks of -U: "sym+0xoff (file+0xoffset)", the file and offset from
 * /proc/PID/maps, the function from the file's ELF symbols (.symtab, or
 * .dynsym when stripped), read through /proc/PID/root so that a process
 * in another mount namespace resolves its own files.  The file and offset
 * alone when no function covers the address: they are what addr2line
 * needs, and they stay right for stripped binaries.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- ELF symbols of a mapped file ---------------------------------------- */

struct usym {
	unsigned long long addr, size;	/* virtual address in the file's view */
	size_t name;			/* offset of its name in strings */
};

struct uload {
	unsigned long long offset, filesz, vaddr;	/* a PT_LOAD segment */
};

struct ufile {
	dev_t dev;
	ino_t ino;
	size_t nsyms, nloads;
	struct usym *syms;		/* functions, by address */
	struct uload *loads;
	char *strings;			/* names, copied out of the file */
	struct ufile *next;
};

static struct ufile *ufiles;

static int usym_cmp(const void *a, const void *b)
{
	const struct usym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The functions of section @scn (a symbol table), appended to @f. */
static void ufile_add_syms(struct ufile *f, Elf *elf, Elf_Scn *scn,
			   const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n, used = 0, cap = 0;
	struct usym *syms;
	char *strings = NULL;

	if (!data || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	syms = calloc(n ? n : 1, sizeof(*syms));
	if (!syms)
		return;
	for (i = 0; i < n; i++) {
		const char *name;
		size_t len;
		GElf_Sym sym;
		char *grown;

		if (!gelf_getsym(data, (int)i, &sym) ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		len = strlen(name) + 1;
		if (used + len > cap) {
			cap = (used + len) * 2;
			grown = realloc(strings, cap);
			if (!grown)
				break;
			strings = grown;
		}
		memcpy(strings + used, name, len);
		syms[f->nsyms].addr = sym.st_value;
		syms[f->nsyms].size = sym.st_size;
		syms[f->nsyms].name = used;
		f->nsyms++;
		used += len;
	}
	qsort(syms, f->nsyms, sizeof(*syms), usym_cmp);
	f->syms = syms;
	f->strings = strings;
}

/* Read the symbols and load segments of the open file @fd into @f. */
static void ufile_read(struct ufile *f, int fd)
{
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr sh, symtab_sh, dynsym_sh;
	size_t i, nph;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return;
	if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph))
		goto out;
	f->loads = calloc(nph ? nph : 1, sizeof(*f->loads));
	for (i = 0; f->loads && i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->loads[f->nloads].offset = ph.p_offset;
		f->loads[f->nloads].filesz = ph.p_filesz;
		f->loads[f->nloads].vaddr = ph.p_vaddr;
		f->nloads++;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symtab_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsym_sh = sh;
		}
	}
	if (symtab)
		ufile_add_syms(f, elf, symtab, &symtab_sh);
	if (!f->nsyms && dynsym)
		ufile_add_syms(f, elf, dynsym, &dynsym_sh);
out:
	elf_end(elf);
}

/* The symbols of @path as process @pid sees it (read once per file). */
static const struct ufile *ufile_get(int pid, const char *path)
{
	char where[4200];
	struct ufile *f;
	struct stat st;
	int fd;

	snprintf(where, sizeof(where), "/proc/%d/root%s", pid, path);
	fd = open(where, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	for (f = ufiles; f; f = f->next)
		if (f->dev == st.st_dev && f->ino == st.st_ino)
			break;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (f) {
			f->dev = st.st_dev;
			f->ino = st.st_ino;
			ufile_read(f, fd);
			f->next = ufiles;
			ufiles = f;
		}
	}
	close(fd);
	return f;
}

/* The function of @f at file offset @off, and the offset into it. */
static const char *ufile_func(const struct ufile *f, unsigned long long off,
			      unsigned long long *into)
{
	unsigned long long vaddr = 0;
	size_t i, lo = 0, hi;
	int found = 0;

	for (i = 0; i < f->nloads && !found; i++) {
		const struct uload *l = &f->loads[i];

		if (off >= l->offset && off < l->offset + l->filesz) {
			vaddr = off - l->offset + l->vaddr;
			found = 1;
		}
	}
	if (!found)
		return NULL;
	hi = f->nsyms;
	while (lo < hi) {	/* lo: the first symbol above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the nearest start below; sizes of aliases and local labels vary */
	while (lo-- > 0) {
		const struct usym *s = &f->syms[lo];

		if (vaddr < s->addr + (s->size ? s->size : 1)) {
			*into = vaddr - s->addr;
			return f->strings + s->name;
		}
		if (!s->size || vaddr - s->addr > (1ULL << 20))
			break;
	}
	return NULL;
}

/* ---- the maps of a process ----------------------------------------------- */

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
		if (m->name[0] == '/') {
			unsigned long long off = addr - m->start + m->pgoff;
			unsigned long long into = 0;
			const struct ufile *f = ufile_get(pid, m->name);
			const char *func = f ? ufile_func(f, off, &into) : NULL;

			if (func)
				snprintf(buf, n, "%s+0x%llx (%s+0x%llx)", func,
					 into, m->name, off);
			else
				snprintf(buf, n, "%s+0x%llx", m->name, off);
		} else {
			snprintf(buf, n, "%s+0x%llx", m->name, addr - m->start);
		}
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
