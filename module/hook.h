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
#include <linux/static_call.h>

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
	/*
	 * A static call that the wrapper calls the original through, set
	 * with MAPEX_DIRECT(), or NULL.  Its trampoline becomes a direct
	 * jump, which IBT does not check: the way back into a function whose
	 * ENDBR was sealed at boot (never address-taken), where an indirect
	 * call faults.
	 */
	struct static_call_key	*direct_key;
	void			*direct_tramp;
	/* set by mapex_hooks_install() */
	unsigned long		orig;		/* address to call the original */
	unsigned long		site;		/* its ftrace call site */
	struct mapex_hook_group	*group;		/* its ftrace_ops, shared */
	bool			installed;
	bool			sealed;		/* its ENDBR is sealed (IBT build) */
	int			error;		/* of the last install, or 0 */
};

/* Argument @n of the observed call, from a checkpoint callback. */
unsigned long mapex_hook_arg(struct ftrace_regs *fregs, unsigned int n);

/* Original function of a redirected hook, callable from its wrapper. */
#define MAPEX_ORIG(hook, type)	((type)(hook)->orig)

/*
 * The static call @name, defined with DEFINE_STATIC_CALL_NULL() in the file
 * whose wrapper calls it as static_call(@name)(...): objtool records a
 * module's call site with its key only when both are in one object file
 * (else the loader refuses the module).  mapex_hooks_install() points it at
 * the original before the hook is installed.
 */
#define MAPEX_DIRECT(name)						\
	.direct_key = &STATIC_CALL_KEY(name),				\
	.direct_tramp = STATIC_CALL_TRAMP_ADDR(name)

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
