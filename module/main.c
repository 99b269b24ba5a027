// SPDX-License-Identifier: GPL-2.0
/*
 * module/main.c - mapex module entry and exit, the /sys/kernel/mapex root
 * and its read-only "version" file.  Everything else hangs off the kobject
 * created here (see module/sysfs.c for the per-filesystem directories).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "mapex.h"

struct kobject *mapex_kobj;

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", MAPEX_VERSION);
}
static struct kobj_attribute version_attr = __ATTR_RO(version);

static int __init mapex_init(void)
{
	int err;

	mapex_kobj = kobject_create_and_add("mapex", kernel_kobj);
	if (!mapex_kobj)
		return -ENOMEM;
	err = sysfs_create_file(mapex_kobj, &version_attr.attr);
	if (err) {
		kobject_put(mapex_kobj);
		return err;
	}
	pr_info("version %s loaded\n", MAPEX_VERSION);
	return 0;
}

static void __exit mapex_exit(void)
{
	kobject_put(mapex_kobj);
	pr_info("unloaded\n");
}

module_init(mapex_init);
module_exit(mapex_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex: per-inode multi-mode range lock for page cache operations");
MODULE_VERSION(MAPEX_VERSION);
