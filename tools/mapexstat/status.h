/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/mapexstat/status.h - mapexstat --status (tools/mapexstat/status.c).
 */
#ifndef MAPEXSTAT_STATUS_H
#define MAPEXSTAT_STATUS_H

#include <signal.h>
#include <stdbool.h>

/*
 * Print the status once, or every @interval seconds (then only what moved)
 * until *@stop or @duration seconds.  Returns the exit status: 0, or 2
 * when the module is not loaded.
 */
int mapexstat_status(bool json, unsigned long interval, unsigned long duration,
		     volatile sig_atomic_t *stop);

#endif /* MAPEXSTAT_STATUS_H */
