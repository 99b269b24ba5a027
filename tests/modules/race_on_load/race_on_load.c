// SPDX-License-Identifier: GPL-2.0
/*
 * tests/modules/race_on_load - test-only module with a deliberate data
 * race: on load, two kernel threads write and read one plain variable for
 * a second, so that on a KCSAN kernel (scripts/debug-kernel --kcsan) the
 * harness can check that scripts/vm-run fails a run on a KCSAN report
 * that names a project module.  On other kernels it loads and does
 * nothing visible.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>

static unsigned long race_on_load_shared;	/* plain on purpose */

static int race_on_load_writer(void *unused)
{
	while (!kthread_should_stop()) {
		race_on_load_shared++;
		cond_resched();
	}
	return 0;
}

static int race_on_load_reader(void *unused)
{
	unsigned long sum = 0;

	while (!kthread_should_stop()) {
		sum += race_on_load_shared;
		cond_resched();
	}
	return sum == ULONG_MAX;
}

static int __init race_on_load_init(void)
{
	struct task_struct *w, *r;

	w = kthread_run(race_on_load_writer, NULL, "race_on_load_w");
	if (IS_ERR(w))
		return PTR_ERR(w);
	r = kthread_run(race_on_load_reader, NULL, "race_on_load_r");
	if (!IS_ERR(r)) {
		msleep(1000);
		kthread_stop(r);
	}
	kthread_stop(w);
	return PTR_ERR_OR_ZERO(r);
}

static void __exit race_on_load_exit(void)
{
}

module_init(race_on_load_init);
module_exit(race_on_load_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex harness test: a data race for KCSAN on load");
