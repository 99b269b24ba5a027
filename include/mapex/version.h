/* SPDX-License-Identifier: GPL-2.0 */
/*
 * include/mapex/version.h - the one version of mapex: the module reports it
 * in /sys/kernel/mapex/version and modinfo, mapexstat compares it with the
 * loaded module's, and dkms.conf / debian/changelog must agree with it
 * (scripts/make-deb refuses to build when they do not; tests/packaging/run
 * checks it).
 */
#ifndef MAPEX_VERSION_H
#define MAPEX_VERSION_H

#define MAPEX_VERSION "0.7.0"

#endif /* MAPEX_VERSION_H */
