// SPDX-License-Identifier: GPL-2.0
/*
 * tests/modules/emulator_int3_retry - test-only module that scripts/vm-init
 * loads in every test VM: it gives a kernel int3 whose byte is no longer an
 * int3 in memory back to the instruction now there, and counts it.
 *
 * Why.  QEMU's multi-threaded TCG can execute a translation of kernel text
 * that text_poke_bp() has already rewritten: a vCPU then runs the
 * temporary int3 of a jump label or ftrace site after the patching ended.
 * Linux 6.1's kprobe_int3_handler() retries such an int3 ("the breakpoint
 * instruction was removed right after we hit it"); 6.12 dropped that
 * retry, so there the stale int3 is a fatal "Oops: int3".  Seen on stock
 * 6.12 with no project module loaded, only tracepoints and the function
 * tracer switched on and off under IO (docs/development.md, "QEMU notes").
 * This notifier does what 6.1 does, nothing more: an int3 whose byte is
 * still 0xcc is not touched and oopses as before.
 *
 * Each retry is counted in /sys/module/emulator_int3_retry/parameters/
 * retried, which scripts/vm-run reports after the run.
 */
#include <linux/kdebug.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/ptrace.h>
#include <linux/uaccess.h>

#define INT3_OPCODE	0xcc

static atomic_t retried = ATOMIC_INIT(0);

static int retried_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&retried));
}

static const struct kernel_param_ops retried_ops = {
	.get = retried_get,
};
module_param_cb(retried, &retried_ops, NULL, 0444);
MODULE_PARM_DESC(retried, "stale kernel int3 retried since load");

static int emulator_int3_notify(struct notifier_block *nb, unsigned long val,
				void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	unsigned long addr;
	u8 byte;

	if (val != DIE_INT3 || !regs || user_mode(regs))
		return NOTIFY_DONE;
	addr = regs->ip - 1;
	if (copy_from_kernel_nofault(&byte, (void *)addr, 1) ||
	    byte == INT3_OPCODE)
		return NOTIFY_DONE;
	regs->ip = addr;
	atomic_inc(&retried);
	return NOTIFY_STOP;
}

static struct notifier_block emulator_int3_nb = {
	.notifier_call = emulator_int3_notify,
	.priority = INT_MIN,	/* after every real int3 user */
};

static int __init emulator_int3_retry_init(void)
{
	return register_die_notifier(&emulator_int3_nb);
}

static void __exit emulator_int3_retry_exit(void)
{
	unregister_die_notifier(&emulator_int3_nb);
}

module_init(emulator_int3_retry_init);
module_exit(emulator_int3_retry_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex test VMs: retry int3 left stale by QEMU TCG text patching");
