// SPDX-License-Identifier: GPL-2.0
/*
 * tests/bench/bpf-links.c - attach and detach the programs of a pinned
 * mapexstat collection, for tests/bench/interleave.
 *
 * `mapexstat --pin` leaves one raw tracepoint link per program under
 * /sys/fs/bpf/mapex/ (NAME_link) and the maps beside them.  A link keeps
 * its program attached while anything references it: the pin, or an open
 * file descriptor.  links_take() opens each link, notes its program and
 * tracepoint, and removes the pin, so that closing the descriptor detaches
 * the program (the tracepoint's probe is unregistered, and its static key
 * turned off when it was the last).  Attaching again opens a new raw
 * tracepoint link for the same program, which still writes to the pinned
 * maps.  links_give_back() pins the links where they were, so `mapexstat`
 * reads the collection and `mapexstat --unpin` removes it as usual.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf-links.h"

#define MAX_LINKS	16
#define LINK_SUFFIX	"_link"

struct pinned_link {
	char path[PATH_MAX];
	char tracepoint[128];
	int prog_fd;
	int link_fd;		/* -1 while detached */
};

struct pinned_links {
	int n;
	struct pinned_link link[MAX_LINKS];
};

static void links_free(struct pinned_links *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		if (l->link[i].link_fd >= 0)
			close(l->link[i].link_fd);
		if (l->link[i].prog_fd >= 0)
			close(l->link[i].prog_fd);
	}
	free(l);
}

/* Open the link pinned at PATH and note what it attaches. */
static int link_open(struct pinned_link *p, const char *path)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	snprintf(p->path, sizeof(p->path), "%s", path);
	p->prog_fd = -1;
	p->link_fd = bpf_obj_get(path);
	if (p->link_fd < 0) {
		fprintf(stderr, "bpf-links: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	info.raw_tracepoint.tp_name = (__u64)(uintptr_t)p->tracepoint;
	info.raw_tracepoint.tp_name_len = sizeof(p->tracepoint);
	if (bpf_obj_get_info_by_fd(p->link_fd, &info, &len)) {
		fprintf(stderr, "bpf-links: %s: link info: %s\n", path, strerror(errno));
		return -1;
	}
	if (info.type != BPF_LINK_TYPE_RAW_TRACEPOINT) {
		fprintf(stderr, "bpf-links: %s: not a raw tracepoint link (type %u)\n",
			path, info.type);
		return -1;
	}
	p->prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
	if (p->prog_fd < 0) {
		fprintf(stderr, "bpf-links: %s: program %u: %s\n", path,
			info.prog_id, strerror(errno));
		return -1;
	}
	return 0;
}

struct pinned_links *links_take(const char *dir)
{
	struct pinned_links *l = calloc(1, sizeof(*l));
	struct dirent *e;
	DIR *d;
	int i;

	if (!l)
		return NULL;
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "bpf-links: %s: %s\n", dir, strerror(errno));
		free(l);
		return NULL;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char path[PATH_MAX];

		if (len <= strlen(LINK_SUFFIX) ||
		    strcmp(e->d_name + len - strlen(LINK_SUFFIX), LINK_SUFFIX))
			continue;
		if (l->n == MAX_LINKS) {
			fprintf(stderr, "bpf-links: more than %d links in %s\n",
				MAX_LINKS, dir);
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (link_open(&l->link[l->n++], path))
			goto fail;
	}
	closedir(d);
	d = NULL;
	if (!l->n) {
		fprintf(stderr, "bpf-links: no pinned link (*%s) in %s: run mapexstat --pin first\n",
			LINK_SUFFIX, dir);
		goto fail;
	}
	/* Every link is open: from here on this process holds them. */
	for (i = 0; i < l->n; i++) {
		if (unlink(l->link[i].path)) {
			fprintf(stderr, "bpf-links: %s: %s\n", l->link[i].path,
				strerror(errno));
			/* put back the pins already removed */
			while (i--)
				bpf_obj_pin(l->link[i].link_fd, l->link[i].path);
			goto fail;
		}
	}
	return l;
fail:
	if (d)
		closedir(d);
	links_free(l);
	return NULL;
}

int links_set(struct pinned_links *l, int attached)
{
	int i;

	for (i = 0; i < l->n; i++) {
		struct pinned_link *p = &l->link[i];

		if (attached && p->link_fd < 0) {
			p->link_fd = bpf_raw_tracepoint_open(p->tracepoint, p->prog_fd);
			if (p->link_fd < 0) {
				fprintf(stderr, "bpf-links: attaching to %s: %s\n",
					p->tracepoint, strerror(errno));
				return -1;
			}
		} else if (!attached && p->link_fd >= 0) {
			close(p->link_fd);
			p->link_fd = -1;
		}
	}
	return 0;
}

int links_give_back(struct pinned_links *l)
{
	int i, ret = links_set(l, 1);

	for (i = 0; !ret && i < l->n; i++) {
		if (bpf_obj_pin(l->link[i].link_fd, l->link[i].path)) {
			fprintf(stderr, "bpf-links: pinning %s: %s\n",
				l->link[i].path, strerror(errno));
			ret = -1;
		}
	}
	links_free(l);
	return ret;
}
