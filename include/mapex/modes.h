/* SPDX-License-Identifier: GPL-2.0 */
/*
 * include/mapex/modes.h - the one list of lock modes, operations and
 * checkpoints shared by the module, the BPF programs and the userspace
 * tools. Each list is an x-macro in the style of the kernel's EM()/EMe():
 * MAPEX_MODES(EM, EMe) calls EM(ENUMERATOR, name) for every entry but the
 * last and EMe(ENUMERATOR, name) for the last one. From these come the
 * enums (whose BTF names bpftool prints), the name arrays (sysfs,
 * mapexstat) and the tracepoints' __print_symbolic tables (module/trace.h).
 * The order is an ABI: values are positions in the list.
 *
 * This header is included from kernel code, BPF code and plain C, so it
 * uses no kernel or libc types.
 */
#ifndef MAPEX_MODES_H
#define MAPEX_MODES_H

/*
 * Lock modes of the default mapex class (see docs/rangelock.md):
 * fault: page faults (->fault, ->page_mkwrite); buffered: buffered
 * ->read_iter / ->write_iter; direct_read / direct_write: IOCB_DIRECT
 * ->read_iter / ->write_iter; inval: truncate, punch, zero, collapse,
 * insert.
 */
#define MAPEX_MODES(EM, EMe)					\
	EM(MAPEX_MODE_FAULT,		fault)			\
	EM(MAPEX_MODE_BUFFERED,		buffered)		\
	EM(MAPEX_MODE_DIRECT_READ,	direct_read)		\
	EM(MAPEX_MODE_DIRECT_WRITE,	direct_write)		\
	EMe(MAPEX_MODE_INVAL,		inval)

/*
 * Entry points that take the lock, reported as "op" in trace events:
 * ->read_iter, ->write_iter, ->fault, ->page_mkwrite, ->fallocate,
 * do_truncate, ->remap_file_range (reflink, dedupe), and the block
 * layer's late dirtying of a direct read's pages (redirty).
 */
#define MAPEX_OPS(EM, EMe)					\
	EM(MAPEX_OP_READ,		read)			\
	EM(MAPEX_OP_WRITE,		write)			\
	EM(MAPEX_OP_FAULT,		fault)			\
	EM(MAPEX_OP_MKWRITE,		mkwrite)		\
	EM(MAPEX_OP_FALLOCATE,		fallocate)		\
	EM(MAPEX_OP_TRUNCATE,		truncate)		\
	EM(MAPEX_OP_REMAP,		remap)			\
	EMe(MAPEX_OP_REDIRTY,		redirty)

/*
 * Checkpoints that count operations arriving without the expected lock;
 * the last is the collision detector (another task's range over the folio).
 */
#define MAPEX_CHECKPOINTS(EM, EMe)				\
	EM(MAPEX_CP_TRUNCATE_PAGECACHE,	truncate_pagecache)	\
	EM(MAPEX_CP_TRUNCATE_PAGECACHE_RANGE, truncate_pagecache_range) \
	EM(MAPEX_CP_FILEMAP_FAULT,	filemap_fault)		\
	EM(MAPEX_CP_IOMAP_DIO_RW,	__iomap_dio_rw)		\
	EMe(MAPEX_CP_DIRTY_FOLIO,	__folio_mark_dirty)

/* Expanders: an enumerator, or a name string, per entry. */
#define MAPEX_X_ENUM(e, name)	e,
#define MAPEX_X_NAME(e, name)	#name,

enum mapex_mode { MAPEX_MODES(MAPEX_X_ENUM, MAPEX_X_ENUM) MAPEX_NR_MODES };
enum mapex_op { MAPEX_OPS(MAPEX_X_ENUM, MAPEX_X_ENUM) MAPEX_NR_OPS };
enum mapex_checkpoint {
	MAPEX_CHECKPOINTS(MAPEX_X_ENUM, MAPEX_X_ENUM) MAPEX_NR_CHECKPOINTS
};

/* Initializers of name arrays indexed by the enums above. */
#define MAPEX_MODE_NAMES	{ MAPEX_MODES(MAPEX_X_NAME, MAPEX_X_NAME) }
#define MAPEX_OP_NAMES		{ MAPEX_OPS(MAPEX_X_NAME, MAPEX_X_NAME) }
#define MAPEX_CHECKPOINT_NAMES	\
	{ MAPEX_CHECKPOINTS(MAPEX_X_NAME, MAPEX_X_NAME) }

/* Marker for "no holder" in trace events (e.g. blocked by a queued waiter). */
#define MAPEX_MODE_NONE		0xffU

#endif /* MAPEX_MODES_H */
