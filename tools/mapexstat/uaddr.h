/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/mapexstat/uaddr.h - user address to "file+0xoffset" for mapexstat's
 * waiter user stacks (-U), from /proc/PID/maps.
 */
#ifndef MAPEXSTAT_UADDR_H
#define MAPEXSTAT_UADDR_H

#include <stddef.h>

/*
 * Write "file+0xoff" for addr in process pid into buf (the offset is into
 * the file, as addr2line and objdump take it), "[name]+0xoff" for an
 * anonymous named mapping such as [stack], or "0x<addr>" when no mapping
 * covers it or the process is gone.  Maps are read once per process and
 * kept until uaddr_forget().
 */
const char *uaddr_name(int pid, unsigned long long addr, char *buf, size_t n);
/* Drop the maps read so far (each report reads them afresh). */
void uaddr_forget(void);

#endif /* MAPEXSTAT_UADDR_H */
