// SPDX-License-Identifier: GPL-2.0
/*
 * module/hook.c - ftrace hook mechanics: symbol lookup without
 * kallsyms_lookup_name, IBT-safe calls to the original, IPMODIFY
 * redirection that survives ftrace_enabled=0, all-or-nothing installation
 * of a set of hooks, and the in-flight wrapper count that unload drains.
 *
 * How a call is redirected: ftrace calls mapex_ftrace_thunk() at the hooked
 * function's entry; unless the call comes from this module (the wrapper
 * calling the original), the thunk sets the saved instruction pointer to the
 * wrapper, which then runs in the caller's context with the caller's
 * arguments and may sleep.  The wrapper calls the original through
 * hook->orig; ftrace then sees a parent inside this module and lets it run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>

#include "hook.h"
#include "kfeatures.h"

#ifdef HAVE_FTRACE_REGS_SET_INSTRUCTION_POINTER
#define mapex_set_ip(fregs, ip)	ftrace_regs_set_instruction_pointer(fregs, ip)
#else
#define mapex_set_ip(fregs, ip)	ftrace_instruction_pointer_set(fregs, ip)
#endif

/* endbr64: f3 0f 1e fa */
#define MAPEX_ENDBR64	0xfa1e0ff3U

static void notrace mapex_ftrace_thunk(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct mapex_hook *hook = container_of(ops, struct mapex_hook, ops);
	struct pt_regs *regs;

	if (hook->wrapper) {
		if (!within_module(parent_ip, THIS_MODULE))
			mapex_set_ip(fregs, (unsigned long)hook->wrapper);
		return;
	}
	regs = ftrace_get_regs(fregs);
	if (regs)
		hook->observe(hook, regs);
}

static bool mapex_ibt_enabled(void)
{
#ifdef HAVE_X86_FEATURE_IBT
	return cpu_feature_enabled(X86_FEATURE_IBT);
#else
	return false;
#endif
}

/*
 * Resolve @hook->symbol with a throwaway kprobe (kallsyms_lookup_name is not
 * exported).  On IBT kernels the probe address is the ftrace site just past
 * the 4-byte ENDBR slot; the function itself starts 4 bytes earlier.  A
 * function whose address is never taken has that ENDBR sealed at boot: an
 * indirect call to it would fault, so a redirected hook on it is refused.
 */
static int mapex_hook_resolve(struct mapex_hook *hook)
{
	struct kprobe kp = { .symbol_name = hook->symbol };
	unsigned long addr;
	u32 insn = 0;
	int err;

	err = register_kprobe(&kp);
	if (err)
		return err;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);

	hook->site = addr;
	hook->orig = addr;
	if (copy_from_kernel_nofault(&insn, (void *)(addr - 4), sizeof(insn)))
		insn = 0;
	if (insn == MAPEX_ENDBR64)
		hook->orig = addr - 4;
	else if (hook->wrapper && mapex_ibt_enabled())
		return -EPERM;	/* sealed ENDBR: the original is not callable */
	return 0;
}

/* Is @symbol in the kernel or a loaded module? */
bool mapex_symbol_exists(const char *symbol)
{
	struct kprobe kp = { .symbol_name = symbol };

	if (register_kprobe(&kp))
		return false;
	unregister_kprobe(&kp);
	return true;
}

static int mapex_hook_install(struct mapex_hook *hook)
{
	int err;

	err = mapex_hook_resolve(hook);
	if (err) {
		pr_err("cannot resolve %s: %s (%d)\n", hook->symbol,
		       err == -EPERM ? "ENDBR sealed under IBT" : "not found",
		       err);
		return err;
	}
	hook->ops.func = mapex_ftrace_thunk;
	/*
	 * PERMANENT: kernel.ftrace_enabled=0 must not silently drop the
	 * hooks (it is refused while they are registered).
	 */
	hook->ops.flags = FTRACE_OPS_FL_PERMANENT;
	if (hook->wrapper) {
		/*
		 * The flags livepatch uses: with ftrace_regs arguments the
		 * lighter trampoline can already change the IP.
		 */
		hook->ops.flags |= FTRACE_OPS_FL_IPMODIFY;
#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
		hook->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
#endif
	} else {
		/* Checkpoints read the arguments from full pt_regs. */
		hook->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
	}

	err = ftrace_set_filter_ip(&hook->ops, hook->site, 0, 0);
	if (err) {
		pr_err("cannot trace %s: %d\n", hook->symbol, err);
		return err;
	}
	err = register_ftrace_function(&hook->ops);
	if (err) {
		pr_err("cannot hook %s: %d%s\n", hook->symbol, err,
		       err == -EBUSY ?
		       " (already modified by livepatch or another ftrace IPMODIFY user)" : "");
		ftrace_set_filter_ip(&hook->ops, hook->site, 1, 0);
		return err;
	}
	hook->installed = true;
	return 0;
}

static void mapex_hook_remove(struct mapex_hook *hook)
{
	int err;

	if (!hook->installed)
		return;
	err = unregister_ftrace_function(&hook->ops);
	if (err)
		pr_err("cannot unhook %s: %d\n", hook->symbol, err);
	ftrace_set_filter_ip(&hook->ops, hook->site, 1, 0);
	hook->installed = false;
}

/*
 * Install all of @hooks or none: on failure, nothing stays installed.  An
 * optional hook whose original cannot be called under IBT stays out.
 */
int mapex_hooks_install(struct mapex_hook *hooks, unsigned int nr)
{
	unsigned int i;
	int err;

	for (i = 0; i < nr; i++) {
		err = mapex_hook_install(&hooks[i]);
		if (err == -EPERM && hooks[i].optional) {
			pr_warn("%s not hooked: its operations are only counted at the checkpoints\n",
				hooks[i].symbol);
			continue;
		}
		if (err) {
			mapex_hooks_remove(hooks, i);
			return err;
		}
	}
	return 0;
}

void mapex_hooks_remove(struct mapex_hook *hooks, unsigned int nr)
{
	unsigned int i;

	for (i = nr; i-- > 0;)
		mapex_hook_remove(&hooks[i]);
}

/*
 * Wrappers in flight, as a per-CPU sum: a wrapper may leave on another CPU
 * than it entered, so only the sum over CPUs is meaningful.
 */
static DEFINE_PER_CPU(long, mapex_inflight);

void mapex_wrapper_enter(void)
{
	this_cpu_inc(mapex_inflight);
}

void mapex_wrapper_leave(void)
{
	this_cpu_dec(mapex_inflight);
}

static long mapex_inflight_sum(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(mapex_inflight, cpu);
	return sum;
}

/*
 * Called after every hook is removed.  A task redirected just before the
 * removal may not have reached mapex_wrapper_enter() yet: RCU-tasks waits
 * for it (it has not voluntarily scheduled since).  Then wait for the
 * wrappers, sleeping ones included, and once more for their tails.
 */
void mapex_hooks_drain(void)
{
	synchronize_rcu_tasks();
	while (mapex_inflight_sum() > 0)
		msleep(20);
	synchronize_rcu_tasks();
}
