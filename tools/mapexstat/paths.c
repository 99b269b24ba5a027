// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/paths.c - mapexstat's inode to path resolution: the
 * superblock dev_t of an open file from fdinfo and mountinfo, and paths of
 * report rows from the open fds and mappings in /proc/<pid>/fd and
 * /proc/<pid>/maps of every process.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mapexstat.h"

/* The superblock dev_t of the file behind an open fd (btrfs-proof). */
bool mnt_dev(const char *fdinfo, const char *mountinfo,
		    unsigned int *dev)
{
	char line[4096];
	int mnt_id = -1, id, ma, mi;
	bool found = false;
	FILE *f;

	f = fopen(fdinfo, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", &mnt_id) == 1)
			break;
	fclose(f);
	if (mnt_id < 0)
		return false;
	f = fopen(mountinfo, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %*d %d:%d", &id, &ma, &mi) == 3 &&
		    id == mnt_id) {
			*dev = KDEV(ma, mi);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* ---- path resolution: /proc/<pid>/fd and /proc/<pid>/maps -------------- */

static bool all_resolved(struct entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!e[i].path)
			return false;
	return true;
}

static void set_path(struct entry *e, size_t n, unsigned int dev,
		     unsigned long long ino, const char *path, bool dev_known)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (e[i].path || e[i].key.ino != ino ||
		    (dev_known && e[i].key.dev != dev))
			continue;
		e[i].path = strdup(path);
		if (!e[i].path)
			die(EXIT_RUNTIME, "out of memory");
	}
}

static bool ino_wanted(struct entry *e, size_t n, unsigned long long ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!e[i].path && e[i].key.ino == ino)
			return true;
	return false;
}

static void scan_fds(const char *pid, struct entry *e, size_t n)
{
	char dir[64], lnk[320], info[320], mi[64], target[PATH_MAX];
	struct dirent *d;
	struct stat st;
	unsigned int dev;
	ssize_t len;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	snprintf(mi, sizeof(mi), "/proc/%s/mountinfo", pid);
	fds = opendir(dir);
	if (!fds)
		return;
	while ((d = readdir(fds))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(lnk, sizeof(lnk), "%s/%s", dir, d->d_name);
		if (stat(lnk, &st) || !S_ISREG(st.st_mode) ||
		    !ino_wanted(e, n, st.st_ino))
			continue;
		len = readlink(lnk, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		snprintf(info, sizeof(info), "/proc/%s/fdinfo/%s", pid,
			 d->d_name);
		if (!mnt_dev(info, mi, &dev))
			dev = KDEV(major(st.st_dev), minor(st.st_dev));
		set_path(e, n, dev, st.st_ino, target, true);
	}
	closedir(fds);
}

static void scan_maps(const char *pid, struct entry *e, size_t n)
{
	char file[64], line[PATH_MAX + 256];
	unsigned int ma, mi;
	unsigned long long ino;
	int off;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%s/maps", pid);
	f = fopen(file, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		/* start-end perms offset MAJ:MIN inode   path */
		if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &ma, &mi, &ino,
			   &off) != 3 || !ino || !ino_wanted(e, n, ino))
			continue;
		p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (*p == '/')
			set_path(e, n, KDEV(ma, mi), ino, p, true);
	}
	fclose(f);
}

void resolve_paths(struct entry *e, size_t n)
{
	struct dirent *d;
	DIR *proc;

	if (!n)
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	while (!all_resolved(e, n) && (d = readdir(proc))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		scan_fds(d->d_name, e, n);
		scan_maps(d->d_name, e, n);
	}
	closedir(proc);
}
