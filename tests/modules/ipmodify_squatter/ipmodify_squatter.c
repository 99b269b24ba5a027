// SPDX-License-Identifier: GPL-2.0
/*
 * tests/modules/ipmodify_squatter - test-only module that stands in for
 * livepatch: it registers an ftrace IPMODIFY user (which redirects nothing)
 * on the function named by symbol=, so that mapex's hook on that function
 * fails with -EBUSY.  Used by tests/vm/hooks.t to check that mapex then
 * refuses to load, names the function and leaves nothing installed.
 */
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/module.h>

static char *symbol = "filemap_fault";
module_param(symbol, charp, 0444);
MODULE_PARM_DESC(symbol, "function to hold an IPMODIFY ftrace user on");

static unsigned long squat_ip;

static void notrace squat_func(unsigned long ip, unsigned long parent_ip,
			       struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
}

static struct ftrace_ops squat_ops = {
	.func	= squat_func,
	.flags	= FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

static int __init squat_init(void)
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
	return err;
}

static void __exit squat_exit(void)
{
	unregister_ftrace_function(&squat_ops);
	ftrace_set_filter_ip(&squat_ops, squat_ip, 1, 0);
}

module_init(squat_init);
module_exit(squat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex test: hold an IPMODIFY ftrace user on one function");
