// SPDX-License-Identifier: GPL-2.0
/*
 * module/sysfs.c - /sys/kernel/mapex/matrix and, per selected filesystem,
 * /sys/kernel/mapex/fs/<fstype>/{enabled,stats,hooks,guarded}
 * (docs/ABI/testing/sysfs-kernel-mapex).  A refused write changes nothing.
 */
#include <linux/kobject.h>
#include <linux/kstrtox.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "interpose.h"
#include "mapex.h"
#include "rangelock.h"

static const char *const mapex_counter_names[MAPEX_NR_COUNTERS] = {
	"acquired", "contended", "refused", "retry", "redo", "ra_skipped",
	"settle_wait", "unguarded",
};

static struct kobject *mapex_fs_kobj;

static struct mapex_profile *mapex_kobj_profile(struct kobject *kobj)
{
	unsigned int i;

	for (i = 0; i < mapex_nr_profiles; i++)
		if (mapex_profiles[i].kobj == kobj)
			return &mapex_profiles[i];
	return NULL;
}

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct mapex_profile *p = mapex_kobj_profile(kobj);

	/* "enabled" means guarding, or guarding as soon as the fs loads */
	return sysfs_emit(buf, "%d\n", p && READ_ONCE(p->enabled) &&
			  !READ_ONCE(p->hook_error));
}

/*
 * Only "0" or "1" (a trailing newline allowed); anything else: -EINVAL.
 * "1" for a filesystem whose hooks failed: -ENODEV, the reason logged.
 */
static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	struct mapex_profile *p = mapex_kobj_profile(kobj);
	unsigned int val;
	int err;

	if (!p)
		return -ENODEV;
	if (kstrtouint(buf, 10, &val) || val > 1)
		return -EINVAL;
	err = mapex_profile_enable(p, val);
	return err ? err : count;
}

static ssize_t hooks_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct mapex_profile *p = mapex_kobj_profile(kobj);

	return p ? mapex_profile_show_hooks(p, buf) : -ENODEV;
}

static ssize_t guarded_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct mapex_profile *p = mapex_kobj_profile(kobj);

	return p ? mapex_profile_show_guarded(p, buf) : -ENODEV;
}

static ssize_t stats_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct mapex_profile *p = mapex_kobj_profile(kobj);
	struct mapex_fs_stats sum;
	unsigned int c, m;
	int len;

	if (!p)
		return -ENODEV;
	mapex_profile_read_stats(p, &sum);
	len = sysfs_emit(buf, "%-12s", "mode");
	for (c = 0; c < MAPEX_NR_COUNTERS; c++)
		len += sysfs_emit_at(buf, len, " %14s", mapex_counter_names[c]);
	len += sysfs_emit_at(buf, len, "\n");
	for (m = 0; m < MAPEX_NR_MODES; m++) {
		len += sysfs_emit_at(buf, len, "%-12s",
				      mapex_default_class.mode_names[m]);
		for (c = 0; c < MAPEX_NR_COUNTERS; c++)
			len += sysfs_emit_at(buf, len, " %14llu",
					     sum.count[c][m]);
		len += sysfs_emit_at(buf, len, "\n");
	}
	return len;
}

static ssize_t matrix_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	const struct mapex_lock_class *cls = &mapex_default_class;
	unsigned int i, j;
	int len;

	len = sysfs_emit(buf, "%-12s", "");
	for (j = 0; j < cls->nr_modes; j++)
		len += sysfs_emit_at(buf, len, " %12s", cls->mode_names[j]);
	len += sysfs_emit_at(buf, len, "\n");
	for (i = 0; i < cls->nr_modes; i++) {
		len += sysfs_emit_at(buf, len, "%-12s", cls->mode_names[i]);
		for (j = 0; j < cls->nr_modes; j++)
			len += sysfs_emit_at(buf, len, " %12s",
					     cls->compat[i] & (1U << j) ? "Y" : "-");
		len += sysfs_emit_at(buf, len, "\n");
	}
	return len;
}

static struct kobj_attribute enabled_attr = __ATTR_RW_MODE(enabled, 0644);
static struct kobj_attribute stats_attr = __ATTR_RO(stats);
static struct kobj_attribute hooks_attr = __ATTR_RO(hooks);
static struct kobj_attribute guarded_attr = __ATTR_RO(guarded);
static struct kobj_attribute matrix_attr = __ATTR_RO(matrix);

static struct attribute *mapex_fs_attrs[] = {
	&enabled_attr.attr,
	&stats_attr.attr,
	&hooks_attr.attr,
	&guarded_attr.attr,
	NULL,
};

static const struct attribute_group mapex_fs_group = {
	.attrs = mapex_fs_attrs,
};

int mapex_sysfs_init(void)
{
	unsigned int i;
	int err;

	err = sysfs_create_file(mapex_kobj, &matrix_attr.attr);
	if (err)
		return err;
	mapex_fs_kobj = kobject_create_and_add("fs", mapex_kobj);
	if (!mapex_fs_kobj) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < mapex_nr_profiles; i++) {
		struct mapex_profile *p = &mapex_profiles[i];

		if (!p->selected)
			continue;
		p->kobj = kobject_create_and_add(p->fstype, mapex_fs_kobj);
		if (!p->kobj) {
			err = -ENOMEM;
			goto out;
		}
		err = sysfs_create_group(p->kobj, &mapex_fs_group);
		if (err)
			goto out;
	}
	return 0;
out:
	mapex_sysfs_exit();
	return err;
}

void mapex_sysfs_exit(void)
{
	unsigned int i;

	for (i = 0; i < mapex_nr_profiles; i++) {
		kobject_put(mapex_profiles[i].kobj);
		mapex_profiles[i].kobj = NULL;
	}
	kobject_put(mapex_fs_kobj);
	mapex_fs_kobj = NULL;
	sysfs_remove_file(mapex_kobj, &matrix_attr.attr);
}
