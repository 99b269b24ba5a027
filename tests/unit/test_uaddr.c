// SPDX-License-Identifier: GPL-2.0
/*
 * tests/unit/test_uaddr.c - mapexstat's naming of user addresses
 * (tools/mapexstat/uaddr.c, the frames of -U) checked against this very
 * process: a libc function, a function of this program, the stack, an
 * unmapped address and a process that does not exist.
 */
#define _GNU_SOURCE
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/mapexstat/uaddr.h"

static int failed;

static void report(const char *name, int ok, const char *got)
{
	if (ok)
		printf("PASS: uaddr/%s\n", name);
	else
		printf("FAIL: uaddr/%s got '%s'\n", name, got);
	failed |= !ok;
}

static int matches(const char *s, const char *re)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

/* A function of this program, with a symbol of its own (-g, not static). */
__attribute__((noinline)) int uaddr_probe_target(int x)
{
	return x * 3 + 1;
}

int main(void)
{
	ssize_t (*libc_pwrite)(int, const void *, size_t, off_t) = pwrite;
	int (*own)(int) = uaddr_probe_target;
	char buf[4352];
	int local = own(1);

	/* inside libc: "pwrite64+0x4 (/path/libc.so.6+0x...)" or an alias */
	uaddr_name(getpid(), (uintptr_t)libc_pwrite + 4, buf, sizeof(buf));
	report("libc-function", matches(buf,
	       "^[A-Za-z_0-9]*pwrite[A-Za-z_0-9]*\\+0x4 \\(/[^ ]*libc[^ ]*\\.so[^ ]*\\+0x[0-9a-f]+\\)$"), buf);

	uaddr_name(getpid(), (uintptr_t)own + 2, buf, sizeof(buf));
	report("own-function", matches(buf,
	       "^uaddr_probe_target\\+0x2 \\(/[^ ]*test_uaddr\\+0x[0-9a-f]+\\)$"), buf);

	uaddr_name(getpid(), (uintptr_t)&local, buf, sizeof(buf));
	report("stack", matches(buf, "^\\[stack\\]\\+0x[0-9a-f]+$"), buf);

	uaddr_name(getpid(), 0x10, buf, sizeof(buf));
	report("unmapped", !strcmp(buf, "0x10"), buf);

	uaddr_forget();
	uaddr_name(0x7ffffff0, 0x1234, buf, sizeof(buf));
	report("no-such-process", !strcmp(buf, "0x1234"), buf);
	return failed;
}
