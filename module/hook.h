/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/hook.h - ftrace interposition: one struct mapex_hook per hooked
 * kernel function, either redirected to a wrapper (IPMODIFY, the livepatch
 * method) or observed in place (a checkpoint).  Mechanics in module/hook.c.
 */
#ifndef MAPEX_HOOK_H
#define MAPEX_HOOK_H

#include <linux/ftrace.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>

struct mapex_hook;
struct mapex_hook_group;
typedef void (*mapex_observe_fn)(struct mapex_hook *hook,
				 struct ftrace_regs *fregs);

struct mapex_hook {
	const char		*symbol;	/* kernel function to hook */
	void			*wrapper;	/* redirect target, or NULL */
	mapex_observe_fn	observe;	/* checkpoint callback, or NULL */
	unsigned int		id;		/* caller's tag (e.g. checkpoint) */
	bool			optional;	/* may stay out if not installable */
	/* a newer kernel's function: absent before, nothing to guard there */
	bool			may_be_absent;
	bool			seal_for_test;	/* behave as if its ENDBR were sealed */
	/* set by mapex_hooks_install() */
	unsigned long		orig;		/* address to call the original */
	unsigned long		site;		/* its ftrace call site */
	struct mapex_hook_group	*group;		/* its ftrace_ops, shared */
	bool			installed;
	int			error;		/* of the last install, or 0 */
};

/* Argument @n of the observed call, from a checkpoint callback. */
unsigned long mapex_hook_arg(struct ftrace_regs *fregs, unsigned int n);

/* Original function of a redirected hook, callable from its wrapper. */
#define MAPEX_ORIG(hook, type)	((type)(hook)->orig)

bool mapex_symbol_exists(const char *symbol);
int mapex_hooks_install(struct mapex_hook *hooks, unsigned int nr);
void mapex_hooks_remove(struct mapex_hook *hooks, unsigned int nr);

/*
 * Every wrapper brackets its body with these, so that unload can wait for
 * tasks sleeping inside a wrapper (ftrace only waits for its trampoline).
 * Inline: they run twice per hooked call, faults included.
 */
DECLARE_PER_CPU(long, mapex_inflight);

static __always_inline void mapex_wrapper_enter(void)
{
	this_cpu_inc(mapex_inflight);
}

static __always_inline void mapex_wrapper_leave(void)
{
	this_cpu_dec(mapex_inflight);
}

void mapex_hooks_drain(void);

#endif /* MAPEX_HOOK_H */
