// SPDX-License-Identifier: GPL-2.0
/*
 * tools/mapexstat/status.c - mapexstat --status: what the loaded mapex
 * module really guards, read from /sys/kernel/mapex (no BPF, no root):
 * per filesystem whether it is guarded, each hook's state, the counters
 * since load, and a warning when the "unguarded" counts are not 0 or move.
 * Also the versions of the tool and the module, and whether they differ.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mapex/modes.h>
#include <mapex/version.h>
#include "status.h"

#define SYSFS_ROOT	"/sys/kernel/mapex"
#define MAX_FS		8
#define NR_MODES	5	/* rows of stats: enum mapex_mode */

static const char *const modes[] = MAPEX_MODE_NAMES;

struct fs_status {
	char name[32];
	char guarded[256];
	char enabled[8];
	char hooks[4096];
	char stats[2048];
	unsigned long long unguarded[NR_MODES];
};

/* Read a whole sysfs file into @buf; false if it cannot be read. */
static bool read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f)
		return false;
	len = fread(buf, 1, n - 1, f);
	buf[len] = '\0';
	fclose(f);
	return true;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* The "unguarded" column of a stats table, one value per mode row. */
static void parse_unguarded(const char *stats, unsigned long long *out)
{
	const char *line = strchr(stats, '\n');
	int col = -1, i = 0;
	char head[256], *tok, *save;

	memset(out, 0, NR_MODES * sizeof(*out));
	if (!line || (size_t)(line - stats) >= sizeof(head))
		return;
	memcpy(head, stats, line - stats);
	head[line - stats] = '\0';
	for (tok = strtok_r(head, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save), i++)
		if (!strcmp(tok, "unguarded"))
			col = i;
	if (col < 0)
		return;
	for (i = 0; i < NR_MODES && line; i++) {
		const char *p = line + 1;
		int c;

		for (c = 0; c < col; c++) {
			p += strspn(p, " ");
			p += strcspn(p, " \n");
		}
		out[i] = strtoull(p, NULL, 10);
		line = strchr(line + 1, '\n');
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct fs_status *)a)->name,
		      ((const struct fs_status *)b)->name);
}

/* Every /sys/kernel/mapex/fs/<fstype>; -1 if the module is not loaded. */
static int read_all(struct fs_status *fs, char *version, size_t vn)
{
	char path[256];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	if (!read_file(SYSFS_ROOT "/version", version, vn))
		return -1;
	chomp(version);
	dir = opendir(SYSFS_ROOT "/fs");
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < MAX_FS) {
		struct fs_status *f = &fs[n];

		if (d->d_name[0] == '.' || strlen(d->d_name) >= sizeof(f->name))
			continue;
		memset(f, 0, sizeof(*f));
		strcpy(f->name, d->d_name);
#define FS_FILE(field, file)						\
		snprintf(path, sizeof(path), SYSFS_ROOT "/fs/%s/" file, f->name); \
		if (!read_file(path, f->field, sizeof(f->field)))	\
			snprintf(f->field, sizeof(f->field), "?");
		FS_FILE(guarded, "guarded");
		FS_FILE(enabled, "enabled");
		FS_FILE(hooks, "hooks");
		FS_FILE(stats, "stats");
#undef FS_FILE
		chomp(f->guarded);
		chomp(f->enabled);
		parse_unguarded(f->stats, f->unguarded);
		n++;
	}
	closedir(dir);
	qsort(fs, n, sizeof(*fs), cmp_name);
	return n;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void print_text(const struct fs_status *fs, int n,
		       const char *version)
{
	int i, m;

	printf("mapex module %s, mapexstat %s%s\n", version, MAPEX_VERSION,
	       strcmp(version, MAPEX_VERSION) ? "  (VERSION MISMATCH)" : "");
	printf("\n%-10s %-8s %s\n", "FS", "ENABLED", "GUARDED");
	for (i = 0; i < n; i++)
		printf("%-10s %-8s %s\n", fs[i].name, fs[i].enabled,
		       fs[i].guarded);
	for (i = 0; i < n; i++) {
		const char *line = fs[i].hooks;

		printf("\n%s hooks:\n", fs[i].name);
		while (*line) {
			size_t len = strcspn(line, "\n");

			printf("  %.*s\n", (int)len, line);
			line += len + (line[len] == '\n');
		}
		printf("%s counters since load:\n", fs[i].name);
		line = fs[i].stats;
		while (*line) {
			size_t len = strcspn(line, "\n");

			printf("  %.*s\n", (int)len, line);
			line += len + (line[len] == '\n');
		}
		for (m = 0; m < NR_MODES; m++)
			if (fs[i].unguarded[m])
				printf("WARNING: %s: %llu %s operation(s) reached the page cache unguarded since load (docs/locking.md)\n",
				       fs[i].name, fs[i].unguarded[m], modes[m]);
	}
}

static void print_json(const struct fs_status *fs, int n, const char *version)
{
	int i, m;

	printf("{\"module_version\":");
	json_string(version);
	printf(",\"tool_version\":");
	json_string(MAPEX_VERSION);
	printf(",\"version_mismatch\":%s,\"filesystems\":[",
	       strcmp(version, MAPEX_VERSION) ? "true" : "false");
	for (i = 0; i < n; i++) {
		printf("%s{\"fs\":", i ? "," : "");
		json_string(fs[i].name);
		printf(",\"enabled\":%s,\"guarded\":",
		       strcmp(fs[i].enabled, "1") ? "false" : "true");
		json_string(fs[i].guarded);
		printf(",\"hooks\":");
		json_string(fs[i].hooks);
		printf(",\"unguarded\":{");
		for (m = 0; m < NR_MODES; m++)
			printf("%s\"%s\":%llu", m ? "," : "", modes[m],
			       fs[i].unguarded[m]);
		printf("}}");
	}
	printf("]}\n");
}

int mapexstat_status(bool json, unsigned long interval, unsigned long duration,
		     volatile sig_atomic_t *stop)
{
	struct fs_status fs[MAX_FS], prev[MAX_FS];
	char version[64];
	time_t start = time(NULL);
	int n, pn = -1, i, m;

	for (;;) {
		n = read_all(fs, version, sizeof(version));
		if (n < 0) {
			fprintf(stderr, "mapexstat: the mapex module is not loaded (no %s)\n",
				SYSFS_ROOT);
			return 2;
		}
		if (pn < 0) {
			if (json)
				print_json(fs, n, version);
			else
				print_text(fs, n, version);
			if (strcmp(version, MAPEX_VERSION))
				fprintf(stderr, "mapexstat: version mismatch: module %s, mapexstat %s: install the tools that match the module\n",
					version, MAPEX_VERSION);
		} else {
			/* --status -i: only what moved */
			for (i = 0; i < n && i < pn; i++)
				for (m = 0; m < NR_MODES; m++)
					if (fs[i].unguarded[m] > prev[i].unguarded[m])
						printf("WARNING: %s: unguarded %s +%llu in the last %lu s\n",
						       fs[i].name, modes[m],
						       fs[i].unguarded[m] - prev[i].unguarded[m],
						       interval);
			for (i = 0; i < n && i < pn; i++)
				if (strcmp(fs[i].guarded, prev[i].guarded))
					printf("%s: guarded: %s (was: %s)\n",
					       fs[i].name, fs[i].guarded,
					       prev[i].guarded);
		}
		fflush(stdout);
		if (!interval || *stop ||
		    (duration && time(NULL) - start >= (time_t)duration))
			return 0;
		memcpy(prev, fs, sizeof(fs));
		pn = n;
		sleep(interval);
		if (*stop)
			return 0;
	}
}
