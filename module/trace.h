/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module/trace.h - the mapex tracepoints (TRACE_SYSTEM mapex): contention
 * begin/end, acquire/release, refused requests and unguarded checkpoints.
 *
 * Every argument is a scalar so that BPF raw tracepoints can read them from
 * ctx->args[] without module BTF; the argument order is an ABI (see
 * docs/ABI/testing/tracefs-mapex and tools/bpf/mapexstat.bpf.c).
 * module/trace.c is the one file that defines CREATE_TRACE_POINTS.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mapex

#if !defined(_MAPEX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MAPEX_TRACE_H

#include <linux/kdev_t.h>
#include <linux/tracepoint.h>
#include <mapex/modes.h>

/*
 * Enum values are exported to the format files so that perf and trace-cmd
 * can decode the symbolic names; MAPEX_MODE_NONE is a plain number in the
 * table below (255) because a "U" suffix would confuse format parsers.
 */
#ifndef MAPEX_TRACE_MODE_NONE
#define MAPEX_TRACE_MODE_NONE	255
#endif

/*
 * The tables come from the lists in include/mapex/modes.h; these helpers
 * expand at each read of this header, so TRACE_DEFINE_ENUM takes the
 * meaning of the current stage.
 */
#define mapex_trace_enum(e, name)	TRACE_DEFINE_ENUM(e);
#define mapex_trace_sym(e, name)	{ e, #name },
#define mapex_trace_sym_end(e, name)	{ e, #name }

MAPEX_MODES(mapex_trace_enum, mapex_trace_enum)
MAPEX_OPS(mapex_trace_enum, mapex_trace_enum)
MAPEX_CHECKPOINTS(mapex_trace_enum, mapex_trace_enum)

#define mapex_show_mode(m)						\
	__print_symbolic(m,						\
		MAPEX_MODES(mapex_trace_sym, mapex_trace_sym)		\
		{ MAPEX_TRACE_MODE_NONE, "none" })

#define mapex_show_op(o)						\
	__print_symbolic(o, MAPEX_OPS(mapex_trace_sym, mapex_trace_sym_end))

#define mapex_show_checkpoint(c)					\
	__print_symbolic(c,						\
		MAPEX_CHECKPOINTS(mapex_trace_sym, mapex_trace_sym_end))

/* Fields and format shared by the events that carry (dev, ino, range, mode). */
DECLARE_EVENT_CLASS(mapex_range_class,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode, u32 op),
	TP_ARGS(dev, ino, start, end, mode, op),
	TP_STRUCT__entry(
		__field(u32,	dev)
		__field(u32,	mode)
		__field(u64,	ino)
		__field(u64,	start)
		__field(u64,	end)
		__field(u32,	op)
	),
	TP_fast_assign(
		__entry->dev	= dev;
		__entry->mode	= mode;
		__entry->ino	= ino;
		__entry->start	= start;
		__entry->end	= end;
		__entry->op	= op;
	),
	TP_printk("dev %u:%u ino %llu range %llu-%llu mode %s op %s",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->start, __entry->end,
		  mapex_show_mode(__entry->mode), mapex_show_op(__entry->op))
);

/* A request found a conflicting holder or queued waiter and will sleep. */
TRACE_EVENT(mapex_contention_begin,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode,
		 u32 holder_mode, s32 holder_pid, u32 op),
	TP_ARGS(dev, ino, start, end, mode, holder_mode, holder_pid, op),
	TP_STRUCT__entry(
		__field(u32,	dev)
		__field(u32,	mode)
		__field(u64,	ino)
		__field(u64,	start)
		__field(u64,	end)
		__field(u32,	holder_mode)
		__field(s32,	holder_pid)
		__field(u32,	op)
	),
	TP_fast_assign(
		__entry->dev		= dev;
		__entry->mode		= mode;
		__entry->ino		= ino;
		__entry->start		= start;
		__entry->end		= end;
		__entry->holder_mode	= holder_mode;
		__entry->holder_pid	= holder_pid;
		__entry->op		= op;
	),
	TP_printk("dev %u:%u ino %llu range %llu-%llu mode %s holder %s pid %d op %s",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->start, __entry->end,
		  mapex_show_mode(__entry->mode),
		  mapex_show_mode(__entry->holder_mode),
		  __entry->holder_pid, mapex_show_op(__entry->op))
);

/* The wait that contention_begin announced is over (granted or failed). */
TRACE_EVENT(mapex_contention_end,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode,
		 u32 holder_mode, u64 wait_ns, s32 result, u32 op),
	TP_ARGS(dev, ino, start, end, mode, holder_mode, wait_ns, result, op),
	TP_STRUCT__entry(
		__field(u32,	dev)
		__field(u32,	mode)
		__field(u64,	ino)
		__field(u64,	start)
		__field(u64,	end)
		__field(u64,	wait_ns)
		__field(u32,	holder_mode)
		__field(s32,	result)
		__field(u32,	op)
	),
	TP_fast_assign(
		__entry->dev		= dev;
		__entry->mode		= mode;
		__entry->ino		= ino;
		__entry->start		= start;
		__entry->end		= end;
		__entry->wait_ns	= wait_ns;
		__entry->holder_mode	= holder_mode;
		__entry->result		= result;
		__entry->op		= op;
	),
	TP_printk("dev %u:%u ino %llu range %llu-%llu mode %s holder %s wait %llu ns result %d op %s",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->start, __entry->end,
		  mapex_show_mode(__entry->mode),
		  mapex_show_mode(__entry->holder_mode),
		  __entry->wait_ns, __entry->result,
		  mapex_show_op(__entry->op))
);

/* The range is now held (with or without a wait before). */
DEFINE_EVENT(mapex_range_class, mapex_acquire,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode, u32 op),
	TP_ARGS(dev, ino, start, end, mode, op)
);

/*
 * The range was dropped, maybe by another context than the one that took
 * it (AIO completion).  @pid and @tid are the taker's; @held_ns is how long
 * it was held, 0 when the grant was not timed (this event was off then).
 * The first six arguments are mapex_acquire's.
 */
TRACE_EVENT(mapex_release,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode, u32 op,
		 s32 pid, s32 tid, u64 held_ns),
	TP_ARGS(dev, ino, start, end, mode, op, pid, tid, held_ns),
	TP_STRUCT__entry(
		__field(u32,	dev)
		__field(u32,	mode)
		__field(u64,	ino)
		__field(u64,	start)
		__field(u64,	end)
		__field(u32,	op)
		__field(s32,	pid)
		__field(s32,	tid)
		__field(u64,	held_ns)
	),
	TP_fast_assign(
		__entry->dev	= dev;
		__entry->mode	= mode;
		__entry->ino	= ino;
		__entry->start	= start;
		__entry->end	= end;
		__entry->op	= op;
		__entry->pid	= pid;
		__entry->tid	= tid;
		__entry->held_ns = held_ns;
	),
	TP_printk("dev %u:%u ino %llu range %llu-%llu mode %s op %s pid %d tid %d held %llu ns",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->start, __entry->end,
		  mapex_show_mode(__entry->mode), mapex_show_op(__entry->op),
		  __entry->pid, __entry->tid, __entry->held_ns)
);

/*
 * A request did not fit and failed fast: a nested fault (the wrapper then
 * redoes its operation), a kernel-mode fault of a task holding nothing, or
 * a nested IO (-EDEADLK).
 */
DEFINE_EVENT(mapex_range_class, mapex_refused,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode, u32 op),
	TP_ARGS(dev, ino, start, end, mode, op)
);

/* A checkpoint saw an operation arrive without the expected range held. */
TRACE_EVENT(mapex_unguarded,
	TP_PROTO(u32 dev, u64 ino, u64 start, u64 end, u32 mode,
		 u32 checkpoint),
	TP_ARGS(dev, ino, start, end, mode, checkpoint),
	TP_STRUCT__entry(
		__field(u32,	dev)
		__field(u32,	mode)
		__field(u64,	ino)
		__field(u64,	start)
		__field(u64,	end)
		__field(u32,	checkpoint)
	),
	TP_fast_assign(
		__entry->dev		= dev;
		__entry->mode		= mode;
		__entry->ino		= ino;
		__entry->start		= start;
		__entry->end		= end;
		__entry->checkpoint	= checkpoint;
	),
	TP_printk("dev %u:%u ino %llu range %llu-%llu mode %s checkpoint %s",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->start, __entry->end,
		  mapex_show_mode(__entry->mode),
		  mapex_show_checkpoint(__entry->checkpoint))
);

#endif /* _MAPEX_TRACE_H */

/*
 * Out of tree: define_trace.h includes <TRACE_INCLUDE_PATH/trace.h>, found
 * through the -I$(src)/module that the module's Kbuild passes.
 */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
