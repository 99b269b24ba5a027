/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/mapex.h - declarations shared by the mapex module's files.
 */
#ifndef MAPEX_H
#define MAPEX_H

#include <linux/kobject.h>

#define MAPEX_VERSION "0.3.0"

extern struct kobject *mapex_kobj;

#endif /* MAPEX_H */
