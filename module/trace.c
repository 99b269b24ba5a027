// SPDX-License-Identifier: GPL-2.0
/*
 * module/trace.c - instantiates the mapex tracepoints declared in
 * module/trace.h; the only file that defines CREATE_TRACE_POINTS.
 */
#include <linux/build_bug.h>
#include <linux/module.h>

#define CREATE_TRACE_POINTS
#include "trace.h"

/* trace.h spells MAPEX_MODE_NONE as a bare number for format parsers. */
static_assert(MAPEX_TRACE_MODE_NONE == MAPEX_MODE_NONE);
