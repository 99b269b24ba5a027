// SPDX-License-Identifier: GPL-2.0
/*
 * module/main.c - mapex module entry and exit, the /sys/kernel/mapex root
 * and its read-only "version" file, and the order in which the parts
 * start and stop.  module/sysfs.c adds the
 * per-filesystem directories under the kobject created here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/security.h>
#include <linux/sysfs.h>

#include "interpose.h"
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

	/*
	 * lockdown=confidentiality refuses kprobes, which find the functions
	 * mapex hooks: say so here rather than "cannot resolve" per hook.
	 * (Integrity lockdown, Secure Boot's default, only wants the module
	 * signed: docs/install.md.)
	 */
	if (security_locked_down(LOCKDOWN_KPROBES)) {
		pr_err("cannot load: kernel lockdown (confidentiality) refuses the kprobes mapex needs to find the functions it hooks; boot with lockdown=integrity\n");
		err = -EPERM;
		goto out_log;
	}
	err = -ENOMEM;
	mapex_kobj = kobject_create_and_add("mapex", kernel_kobj);
	if (!mapex_kobj)
		goto out_log;
	err = sysfs_create_file(mapex_kobj, &version_attr.attr);
	if (err)
		goto out_kobj;
	err = mapex_interpose_init();
	if (err)
		goto out_kobj;
	err = mapex_sysfs_init();
	if (err)
		goto out_interpose;
	pr_info("version %s loaded\n", MAPEX_VERSION);
	return 0;

out_interpose:
	mapex_interpose_exit();
out_kobj:
	kobject_put(mapex_kobj);
out_log:
	/* every refusal ends on one line in the log, even a bare -ENOMEM */
	pr_err("not loaded (%pe)\n", ERR_PTR(err));
	return err;
}

static void __exit mapex_exit(void)
{
	mapex_sysfs_exit();
	mapex_interpose_exit();
	kobject_put(mapex_kobj);
	pr_info("unloaded\n");
}

module_init(mapex_init);
module_exit(mapex_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex: per-inode multi-mode range lock for page cache operations");
MODULE_VERSION(MAPEX_VERSION);
