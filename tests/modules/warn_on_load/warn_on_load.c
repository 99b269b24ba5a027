// SPDX-License-Identifier: GPL-2.0
/*
 * tests/modules/warn_on_load - test-only module that WARNs once on load and
 * loads successfully, so the harness test can check that scripts/vm-run
 * fails a run whose command succeeded but whose kernel log has a WARNING.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN(1, "mapex test: deliberate warning on load\n");
	return 0;
}

static void __exit warn_on_load_exit(void)
{
}

module_init(warn_on_load_init);
module_exit(warn_on_load_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mapex harness test: WARN on load");
