// SPDX-License-Identifier: GPL-2.0
/*
 * tests/modules/ipmodify_squatter - test-only module that stands in for
 * livepatch: it registers an ftrace IPMODIFY user (which redirects nothing)
 * on the function named by symbol=, so that mapex's hook on that function
 * fails with -EBUSY.  Used by tests/vm/hooks.t to check that mapex then
 * refuses to load, names the function and leaves nothing installed.  With
 * on_load=MODULE it takes the function when that module comes instead,
 * ahead of mapex's own module notifier, so that hooking a filesystem
 * loaded after mapex fails (the status tests of hooks.t).
 */
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/string.h>

static char *symbol = "filemap_fault";
module_param(symbol, charp, 0444);
MODULE_PARM_DESC(symbol, "function to hold an IPMODIFY ftrace user on");

static char *on_load;
module_param(on_load, charp, 0444);
MODULE_PARM_DESC(on_load, "take symbol when this module loads, not now");

static unsigned long squat_ip;
static bool squatting;

static void notrace squat_func(unsigned long ip, unsigned long parent_ip,
			       struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
}

static struct ftrace_ops squat_ops = {
	.func	= squat_func,
	.flags	= FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

static int squat(void)
{
	struct kprobe kp = { .symbol_name = symbol };
	int err;

	err = register_kprobe(&kp);
	if (err)
		return err;
	squat_ip = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	err = ftrace_set_filter_ip(&squat_ops, squat_ip, 0, 0);
	if (err)
		return err;
	err = register_ftrace_function(&squat_ops);
	if (err)
		ftrace_set_filter_ip(&squat_ops, squat_ip, 1, 0);
	squatting = !err;
	return err;
}

static void unsquat(void)
{
	if (!squatting)
		return;
	unregister_ftrace_function(&squat_ops);
	ftrace_set_filter_ip(&squat_ops, squat_ip, 1, 0);
	squatting = false;
}

static int squat_notify(struct notifier_block *nb, unsigned long action,
			void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, on_load))
		return NOTIFY_OK;
	if (action == MODULE_STATE_COMING && squat())
		pr_warn("ipmodify_squatter: cannot take %s\n", symbol);
	else if (action == MODULE_STATE_GOING)
		unsquat();
	return NOTIFY_OK;
}

static struct notifier_block squat_nb = {
	.notifier_call = squat_notify,
	.priority = INT_MAX,	/* before mapex's notifier */
};

static int __init squat_init(void)
{
	if (on_load && *on_load)
		return register_module_notifier(&squat_nb);
	return squat();
}

static void __exit squat_exit(void)
{
	if (on_load && *on_load)
		unregister_module_notifier(&squat_nb);
	unsquat();
}

module_init(squat_init);
module_exit(squat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex test: hold an IPMODIFY ftrace user on one function");
