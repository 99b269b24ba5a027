/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/mapexstat/uaddr.h - user address to "function+0xoff
 * (file+0xoffset)" for mapexstat's waiter user stacks (-U), from
 * /proc/PID/maps and the mapped file's ELF symbols.
 */
#ifndef MAPEXSTAT_UADDR_H
#define MAPEXSTAT_UADDR_H

#include <stddef.h>

/*
 * Write the name of addr in process pid into buf: "function+0xoff
 * (file+0xoffset)" (the offset into the file, as addr2line and objdump
 * take it), "file+0xoffset" when no ELF symbol of the file covers it,
 * "[name]+0xoff" for an anonymous named mapping such as [stack], or
 * "0x<addr>" when no mapping covers it or the process is gone.  Maps are
 * read once per process and kept until uaddr_forget(); the symbols of a
 * file once per file (by device and inode), for the life of the program.
 */
const char *uaddr_name(int pid, unsigned long long addr, char *buf, size_t n);
/* Drop the maps read so far (each report reads them afresh). */
void uaddr_forget(void);

#endif /* MAPEXSTAT_UADDR_H */
