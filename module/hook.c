// SPDX-License-Identifier: GPL-2.0
/*
 * module/hook.c - ftrace hook mechanics: symbol lookup without
 * kallsyms_lookup_name, IBT-safe calls to the original (direct jumps to
 * sealed ones, and the test_assume_ibt knob), IPMODIFY
 * redirection that survives ftrace_enabled=0, all-or-nothing installation
 * of a set of hooks (one ftrace_ops per kind, so one patching round and one
 * grace period per set), and the in-flight wrapper count that unload drains.
 *
 * How a call is redirected: ftrace calls mapex_ftrace_thunk() at the hooked
 * function's entry, which finds the hook by the call's address; unless the
 * call comes from this module (the wrapper calling the original), the thunk
 * sets the saved instruction pointer to the wrapper, which then runs in the
 * caller's context with the caller's arguments and may sleep.  The wrapper
 * calls the original through hook->orig; ftrace then sees a parent inside
 * this module and lets it run.
 *
 * Under IBT an indirect call must land on an ENDBR, and the kernel seals
 * (overwrites with a NOP) the ENDBR of every function whose address is
 * never taken, whether or not the CPU enforces IBT.  Such a function is
 * called back through a static call of the wrapper's file instead: a
 * direct jump, which IBT does not check (MAPEX_DIRECT in hook.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
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

/*
 * Test knob: decide as on a CPU that enforces IBT.  The sealing itself is
 * real on a kernel built with IBT (Debian's 6.12) even where the CPU does
 * not enforce it (QEMU), so the decisions made with it on are the ones a
 * CET machine would make.
 */
static bool test_assume_ibt;
module_param(test_assume_ibt, bool, 0444);
MODULE_PARM_DESC(test_assume_ibt,
		 "for tests: decide as on a CPU that enforces IBT (default: 0)");

/* Does an indirect call need an ENDBR?  Never in a kernel built without IBT. */
static bool mapex_ibt_enabled(void)
{
	if (!IS_ENABLED(CONFIG_X86_KERNEL_IBT))
		return false;
	if (test_assume_ibt)
		return true;
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

/*
 * kallsyms_lookup_name is not exported since 5.7.  One kprobe finds it;
 * later lookups then need no kprobe on the (hot) functions being hooked,
 * whose code would otherwise be patched twice more under load.  Nothing
 * takes its address, so IBT builds seal it (Debian's 6.12): it is called
 * by a direct jump, as the sealed originals are (MAPEX_DIRECT in hook.h).
 */
DEFINE_STATIC_CALL_NULL(mapex_kallsyms_lookup_name, kallsyms_lookup_name);
static bool mapex_have_kallsyms;

static unsigned long mapex_lookup(const char *symbol)
{
	static bool tried;
	unsigned long addr;

	if (!tried) {
		tried = true;
		addr = mapex_kprobe_lookup("kallsyms_lookup_name");
		if (addr) {
			static_call_update(mapex_kallsyms_lookup_name,
					   (typeof(&kallsyms_lookup_name))addr);
			mapex_have_kallsyms = true;
		}
	}
	if (mapex_have_kallsyms)
		return static_call(mapex_kallsyms_lookup_name)(symbol);
	return mapex_kprobe_lookup(symbol);
}

/* Is @symbol in the kernel or a loaded module? */
bool mapex_symbol_exists(const char *symbol)
{
	return mapex_lookup(symbol) != 0;
}

/* @hook names a newer kernel's function that this kernel does not have. */
static bool mapex_hook_absent(const struct mapex_hook *hook)
{
	return hook->may_be_absent && !mapex_symbol_exists(hook->symbol);
}

/*
 * Resolve @hook: where ftrace hooks it, and how to call the original.
 * Where the function's ENDBR is sealed, only a direct jump reaches it: its
 * static call is pointed at it, or without one the hook is refused
 * (-EPERM) on a CPU that enforces IBT.
 */
static int mapex_hook_resolve(struct mapex_hook *hook)
{
	unsigned long addr = mapex_lookup(hook->symbol);
	bool callable;
	u32 insn = 0;

	if (!addr)
		return -ENOENT;
	if (mapex_have_kallsyms) {
		/* The function's start: ftrace maps it to its call site. */
		hook->site = addr;
		hook->orig = addr;
		if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
			insn = 0;
		/* Without IBT in the kernel no function has an ENDBR to seal. */
		hook->sealed = IS_ENABLED(CONFIG_X86_KERNEL_IBT) &&
			       insn != MAPEX_ENDBR64;
		callable = !hook->sealed || !mapex_ibt_enabled();
	} else {
		hook->site = addr;
		hook->orig = mapex_callable(addr, &callable);
		hook->sealed = IS_ENABLED(CONFIG_X86_KERNEL_IBT) &&
			       hook->orig == addr;
	}
	if (!hook->wrapper)
		return 0;
	if (hook->direct_key) {
		/* orig runs on into the function's ftrace site: no ENDBR needed */
		__static_call_update(hook->direct_key, hook->direct_tramp,
				     (void *)hook->orig);
		return 0;
	}
	return callable ? 0 : -EPERM;
}

/*
 * A group: one ftrace_ops for several hooks of one kind (redirected or
 * observed), so that installing them costs one code-patching round and
 * removing them one RCU-tasks grace period, not one per hook (27 hooks
 * took 4 s to remove under TCG).  @hooks is sorted by call site: the
 * thunk finds the hooked function of a call by its ftrace address.
 */
struct mapex_hook_group {
	struct ftrace_ops	ops;
	unsigned int		nr;
	struct mapex_hook	*hooks[];
};

/*
 * The ftrace address of a call lies at the hooked function's start, or
 * just past its ENDBR (site is one or the other); functions are at least
 * this far apart, so at most one hook matches.
 */
#define MAPEX_SITE_SLACK	16

static struct mapex_hook *mapex_group_find(struct mapex_hook_group *group,
					   unsigned long ip)
{
	unsigned int lo = 0, hi = group->nr;

	if (likely(hi == 1))
		return group->hooks[0];
	while (lo < hi) {	/* lo: the first hook whose site is above ip */
		unsigned int mid = lo + (hi - lo) / 2;

		if (group->hooks[mid]->site <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && ip - group->hooks[lo - 1]->site < MAPEX_SITE_SLACK)
		return group->hooks[lo - 1];
	return NULL;
}

static void notrace mapex_ftrace_thunk(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct mapex_hook_group *group =
		container_of(ops, struct mapex_hook_group, ops);
	struct mapex_hook *hook = mapex_group_find(group, ip);

	if (WARN_ON_ONCE(!hook))	/* ftrace calls it for its filter only */
		return;
	if (hook->wrapper) {
		if (!within_module(parent_ip, THIS_MODULE))
			mapex_set_ip(fregs, (unsigned long)hook->wrapper);
		return;
	}
	hook->observe(hook, fregs);
}

static int mapex_site_cmp(const void *a, const void *b)
{
	const struct mapex_hook *x = *(struct mapex_hook * const *)a;
	const struct mapex_hook *y = *(struct mapex_hook * const *)b;

	return x->site < y->site ? -1 : x->site > y->site;
}

static void mapex_group_free(struct mapex_hook_group *group)
{
	ftrace_free_filter(&group->ops);
	kfree(group);
}

/*
 * Register @nr resolved hooks of one kind as one group.  On failure
 * nothing is registered and every hook's error says what failed where
 * ftrace could tell (a function it cannot trace); a refused registration
 * (-EBUSY: another IPMODIFY user) cannot say which function, so the
 * caller retries them one by one.
 */
static int mapex_group_install(struct mapex_hook **hooks, unsigned int nr)
{
	struct mapex_hook_group *group;
	unsigned int i;
	int err;

	group = kzalloc(struct_size(group, hooks, nr), GFP_KERNEL);
	if (!group)
		return -ENOMEM;
	group->nr = nr;
	memcpy(group->hooks, hooks, nr * sizeof(*hooks));
	sort(group->hooks, nr, sizeof(*hooks), mapex_site_cmp, NULL);
	group->ops.func = mapex_ftrace_thunk;
	/*
	 * PERMANENT: kernel.ftrace_enabled=0 must not silently drop the
	 * hooks (it is refused while they are registered).
	 */
	group->ops.flags = FTRACE_OPS_FL_PERMANENT;
	/*
	 * Redirection: the flags livepatch uses; with ftrace_regs arguments
	 * the lighter trampoline can already change the IP.  Checkpoints read
	 * their arguments from full pt_regs where ftrace_regs lacks them.
	 */
	if (hooks[0]->wrapper)
		group->ops.flags |= FTRACE_OPS_FL_IPMODIFY;
#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
	group->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
#endif

	for (i = 0; i < nr; i++) {
		err = ftrace_set_filter_ip(&group->ops, hooks[i]->site, 0, 0);
		if (err) {	/* the one-by-one retry names it */
			hooks[i]->error = err;
			goto out_free;
		}
	}
	err = register_ftrace_function(&group->ops);
	if (err)
		goto out_free;
	for (i = 0; i < nr; i++) {
		hooks[i]->group = group;
		hooks[i]->installed = true;
	}
	return 0;

out_free:
	mapex_group_free(group);
	return err;
}

static void mapex_group_remove(struct mapex_hook_group *group)
{
	unsigned int i;
	int err;

	err = unregister_ftrace_function(&group->ops);
	if (err)
		pr_err("cannot unhook %s%s: %d\n", group->hooks[0]->symbol,
		       group->nr > 1 ? " and the hooks with it" : "", err);
	for (i = 0; i < group->nr; i++) {
		group->hooks[i]->installed = false;
		group->hooks[i]->group = NULL;
	}
	mapex_group_free(group);
}

static void mapex_hook_left_out(const struct mapex_hook *hook)
{
	pr_warn("%s not hooked: %s\n", hook->symbol, hook->wrapper ?
		"its operations are only counted at the checkpoints" :
		"this checkpoint counts nothing");
}

/*
 * Install the hooks of one kind (@wrappers or checkpoints) among @hooks:
 * as one group, or where that is refused, one group per hook so that the
 * refusal names its function and an optional hook can stay out alone.
 */
static int mapex_hooks_install_kind(struct mapex_hook *hooks, unsigned int nr,
				    bool wrappers)
{
	struct mapex_hook **todo;
	unsigned int i, n = 0;
	int err = 0;

	todo = kcalloc(nr, sizeof(*todo), GFP_KERNEL);
	if (!todo)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		if (hooks[i].site && !hooks[i].error &&
		    !hooks[i].wrapper == !wrappers)
			todo[n++] = &hooks[i];
	if (!n || !mapex_group_install(todo, n))
		goto out;

	for (i = 0; i < n; i++) {
		todo[i]->error = 0;
		err = mapex_group_install(&todo[i], 1);
		if (err == -EBUSY)
			pr_err("cannot hook %s: %d (already modified by livepatch or another ftrace IPMODIFY user)\n",
			       todo[i]->symbol, err);
		else if (err)
			pr_err("cannot hook %s: %d\n", todo[i]->symbol, err);
		todo[i]->error = err;
		if (err && todo[i]->optional) {
			mapex_hook_left_out(todo[i]);
			err = 0;
		}
		if (err)
			break;
	}
out:
	kfree(todo);
	return err;
}

/*
 * Install all of @hooks or none: on failure, nothing stays installed.
 * Entries without a symbol, and newer kernels' functions this kernel does
 * not have, are skipped.  An optional hook that cannot be installed (its
 * original not callable under IBT, or the function not traceable on this
 * kernel) stays out.  Each hook's error keeps the outcome for the status.
 */
int mapex_hooks_install(struct mapex_hook *hooks, unsigned int nr)
{
	unsigned int i;
	int err;

	for (i = 0; i < nr; i++) {
		struct mapex_hook *hook = &hooks[i];

		hook->site = 0;
		hook->error = 0;
		if (!hook->symbol || mapex_hook_absent(hook))
			continue;
		err = mapex_hook_resolve(hook);
		if (!err)
			continue;
		pr_err("cannot resolve %s: %s (%d)\n", hook->symbol,
		       err == -EPERM ? "ENDBR sealed under IBT" : "not found",
		       err);
		hook->site = 0;
		hook->error = err;
		if (!hook->optional)
			return err;
		mapex_hook_left_out(hook);
	}
	err = mapex_hooks_install_kind(hooks, nr, true);
	if (!err)
		err = mapex_hooks_install_kind(hooks, nr, false);
	if (err)
		mapex_hooks_remove(hooks, nr);
	return err;
}

void mapex_hooks_remove(struct mapex_hook *hooks, unsigned int nr)
{
	unsigned int i;

	for (i = nr; i-- > 0;)
		if (hooks[i].installed)
			mapex_group_remove(hooks[i].group);
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
