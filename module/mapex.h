/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/mapex.h - declarations shared by the mapex module's files.
 */
#ifndef MAPEX_H
#define MAPEX_H

#include <linux/kobject.h>
#include <mapex/version.h>

extern struct kobject *mapex_kobj;

#endif /* MAPEX_H */
