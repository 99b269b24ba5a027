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

	if (hook->wrapper) {
		if (!within_module(parent_ip, THIS_MODULE))
			mapex_set_ip(fregs, (unsigned long)hook->wrapper);
		return;
	}
	hook->observe(hook, fregs);
}

/*
 * Checkpoints read their arguments from the lighter ftrace_regs when the
 * architecture saves them there (DYNAMIC_FTRACE_WITH_ARGS), which costs
 * much less per call than full pt_regs; hot checkpoints such as
 * filemap_add_folio depend on it.
 */
unsigned long mapex_hook_arg(struct ftrace_regs *fregs, unsigned int n)
{
#if defined(HAVE_FTRACE_REGS_GET_ARGUMENT)
	return ftrace_regs_get_argument(fregs, n);
#elif defined(CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS)
	/* before 6.4: struct ftrace_regs is the pt_regs the trampoline saved */
	return regs_get_kernel_argument(&fregs->regs, n);
#else
	struct pt_regs *regs = ftrace_get_regs(fregs);	/* FL_SAVE_REGS */

	return regs ? regs_get_kernel_argument(regs, n) : 0;
#endif
}

static bool mapex_ibt_enabled(void)
{
#ifdef HAVE_X86_FEATURE_IBT
	return cpu_feature_enabled(X86_FEATURE_IBT);
#else
	return false;
#endif
}

/* Address of @symbol through a throwaway kprobe, or 0. */
static unsigned long mapex_kprobe_lookup(const char *symbol)
{
	struct kprobe kp = { .symbol_name = symbol };
	unsigned long addr;

	if (register_kprobe(&kp))
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/*
 * The start of the function whose kprobe address is @addr, and whether an
 * indirect call to it is allowed.  On IBT kernels the probe address is the
 * ftrace site just past the 4-byte ENDBR slot; a function whose address is
 * never taken has that ENDBR sealed at boot, and an indirect call to it
 * faults on a CPU with IBT enabled.
 */
static unsigned long mapex_callable(unsigned long addr, bool *callable)
{
	u32 insn = 0;

	if (copy_from_kernel_nofault(&insn, (void *)(addr - 4), sizeof(insn)))
		insn = 0;
	if (insn == MAPEX_ENDBR64) {
		*callable = true;
		return addr - 4;
	}
	*callable = !mapex_ibt_enabled();
	return addr;
}

typedef unsigned long (*mapex_kallsyms_lookup_name_t)(const char *name);
static mapex_kallsyms_lookup_name_t mapex_kallsyms_lookup_name;

/*
 * kallsyms_lookup_name is not exported since 5.7.  One kprobe finds it;
 * later lookups then need no kprobe on the (hot) functions being hooked,
 * whose code would otherwise be patched twice more under load.  Where it
 * cannot be called (sealed ENDBR under IBT), every lookup uses a kprobe.
 */
static unsigned long mapex_lookup(const char *symbol)
{
	static bool tried;
	unsigned long addr;
	bool callable;

	if (!tried) {
		tried = true;
		addr = mapex_kprobe_lookup("kallsyms_lookup_name");
		if (addr) {
			addr = mapex_callable(addr, &callable);
			if (callable)
				mapex_kallsyms_lookup_name =
					(mapex_kallsyms_lookup_name_t)addr;
		}
	}
	if (mapex_kallsyms_lookup_name)
		return mapex_kallsyms_lookup_name(symbol);
	return mapex_kprobe_lookup(symbol);
}

/* Is @symbol in the kernel or a loaded module? */
bool mapex_symbol_exists(const char *symbol)
{
	return mapex_lookup(symbol) != 0;
}

bool mapex_hook_absent(const struct mapex_hook *hook)
{
	return hook->may_be_absent && !mapex_symbol_exists(hook->symbol);
}

/* Resolve @hook: where ftrace hooks it, and how to call the original. */
static int mapex_hook_resolve(struct mapex_hook *hook)
{
	unsigned long addr = mapex_lookup(hook->symbol);
	bool callable;
	u32 insn = 0;

	if (!addr)
		return -ENOENT;
	if (mapex_kallsyms_lookup_name) {
		/* The function's start: ftrace maps it to its call site. */
		hook->site = addr;
		hook->orig = addr;
		if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
			insn = 0;
		callable = insn == MAPEX_ENDBR64 || !mapex_ibt_enabled();
	} else {
		hook->site = addr;
		hook->orig = mapex_callable(addr, &callable);
	}
	if (hook->wrapper && (!callable || hook->seal_for_test))
		return -EPERM;	/* sealed ENDBR: the original is not callable */
	return 0;
}

static int __mapex_hook_install(struct mapex_hook *hook)
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
#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
		/* Checkpoints read the arguments from full pt_regs. */
		hook->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
#endif
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

/* Install @hook and keep the outcome for the status (hook->error). */
static int mapex_hook_install(struct mapex_hook *hook)
{
	int err = __mapex_hook_install(hook);

	hook->error = err;
	return err;
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
 * optional hook that cannot be installed (its original not callable under
 * IBT, or the function not traceable on this kernel) stays out.
 */
int mapex_hooks_install(struct mapex_hook *hooks, unsigned int nr)
{
	unsigned int i;
	int err;

	for (i = 0; i < nr; i++) {
		err = mapex_hook_install(&hooks[i]);
		if (err && hooks[i].optional) {
			pr_warn("%s not hooked: %s\n", hooks[i].symbol,
				hooks[i].wrapper ?
				"its operations are only counted at the checkpoints" :
				"this checkpoint counts nothing");
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
 * than it entered, so only the sum over CPUs is meaningful.  Counted by
 * mapex_wrapper_enter() and mapex_wrapper_leave() in hook.h.
 */
DEFINE_PER_CPU(long, mapex_inflight);

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
 * wrappers, sleeping ones included, and once more for their tails: in task
 * context RCU-tasks covers them, in softirq context (an asynchronous IO
 * completion, or the tasklet releasing one, leaving after its unlock)
 * plain RCU does, since a softirq handler is a read-side critical section.
 */
void mapex_hooks_drain(void)
{
	synchronize_rcu_tasks();
	while (mapex_inflight_sum() > 0)
		msleep(20);
	synchronize_rcu_tasks();
	synchronize_rcu();
}
