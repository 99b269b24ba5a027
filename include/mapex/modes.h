/* SPDX-License-Identifier: GPL-2.0 */
/*
 * include/mapex/modes.h - names shared by the module, the BPF programs and
 * the userspace tools: lock modes and the operations that take them.
 *
 * This header is included from kernel code, BPF code and plain C, so it
 * uses no kernel or libc types.
 */
#ifndef MAPEX_MODES_H
#define MAPEX_MODES_H

/* Lock modes of the default mapex class (see docs/rangelock.md). */
enum mapex_mode {
	MAPEX_MODE_FAULT	= 0,	/* page faults: ->fault, ->page_mkwrite */
	MAPEX_MODE_BUFFERED	= 1,	/* buffered ->read_iter / ->write_iter */
	MAPEX_MODE_DIRECT_READ	= 2,	/* IOCB_DIRECT ->read_iter */
	MAPEX_MODE_DIRECT_WRITE	= 3,	/* IOCB_DIRECT ->write_iter */
	MAPEX_MODE_INVAL	= 4,	/* truncate, punch, zero, collapse, insert */
	MAPEX_NR_MODES		= 5,
};

#define MAPEX_MODE_NAMES \
	{ "fault", "buffered", "direct_read", "direct_write", "inval" }

/* Marker for "no holder" in trace events (e.g. blocked by a queued waiter). */
#define MAPEX_MODE_NONE		0xffU

/* Entry points that take the lock; reported as "caller" in trace events. */
enum mapex_op {
	MAPEX_OP_READ		= 0,	/* ->read_iter */
	MAPEX_OP_WRITE		= 1,	/* ->write_iter */
	MAPEX_OP_FAULT		= 2,	/* ->fault */
	MAPEX_OP_MKWRITE	= 3,	/* ->page_mkwrite */
	MAPEX_OP_FALLOCATE	= 4,	/* ->fallocate */
	MAPEX_OP_TRUNCATE	= 5,	/* do_truncate */
	MAPEX_OP_REMAP		= 6,	/* ->remap_file_range (reflink, dedupe) */
	MAPEX_NR_OPS		= 7,
};

#define MAPEX_OP_NAMES \
	{ "read", "write", "fault", "mkwrite", "fallocate", "truncate", \
	  "remap" }

/* Checkpoints that count operations arriving without the expected lock. */
enum mapex_checkpoint {
	MAPEX_CP_TRUNCATE_PAGECACHE		= 0,
	MAPEX_CP_TRUNCATE_PAGECACHE_RANGE	= 1,
	MAPEX_CP_FILEMAP_FAULT			= 2,
	MAPEX_CP_IOMAP_DIO_RW			= 3,
	/* collision detector: another task's range over the folio */
	MAPEX_CP_DIRTY_FOLIO			= 4,
	MAPEX_NR_CHECKPOINTS			= 5,
};

#define MAPEX_CHECKPOINT_NAMES \
	{ "truncate_pagecache", "truncate_pagecache_range", \
	  "filemap_fault", "__iomap_dio_rw", "__folio_mark_dirty" }

#endif /* MAPEX_MODES_H */
