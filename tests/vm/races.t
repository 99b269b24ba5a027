#!/bin/bash
# tests/vm/races.t - the bounded-time version of `make races` for make check
# (runs inside the VM via tests/vm/run-all, on the filesystem vm-run mounted
# at /mnt/scratch).
#
# 1. Teeth: without mapex, cases 3 (mmap store vs sync direct write), 7/aio
#    (buffered write vs AIO direct write), 8 (mmap store into page 0 of a
#    large folio vs a direct write of its other pages) and 9 (a fault nested
#    in a read into a mapping of the file vs a direct write) must observe a
#    collision (a stale read, or the EIO or dio_warn_stale_pagecache call of
#    a failed post-write invalidation) within RACES_TEETH_SECONDS, on the
#    cells where measurement showed they reliably do (docs/results.md):
#    case 3 on every filesystem of both kernels except btrfs, case 7/aio on
#    xfs, case 8 on xfs (the only one of the three with large folios on 6.1
#    and 6.12) and on btrfs of 6.1 (readahead: docs/results.md), case 9 on ext4 and xfs of both kernels and on btrfs of 6.1
#    (6.12's btrfs shows nothing), cases 9/bdev-read and 9/pipe-read as
#    case 9.  Elsewhere the check is SKIPped without running (a reproducer
#    that may not trigger there cannot fail honestly; `make races` measures
#    every cell).
# 2. With mapex loaded ($MAPEX_KO), collision detector on (the default):
#    every case runs for RACES_SECONDS (5), cases 1, 2, 4, 5 and 6 (races
#    the stock kernels already close: mapex must not reopen them) for
#    RACES_CLOSED_SECONDS (2), and
#    must see 0 stale reads, 0 EIO, 0 tp (failed pre-write invalidations)
#    and 0 warn (failed post-write invalidations), on every filesystem
#    (btrfs: EIO of case 9's dio-read and bdev-read exempt, see nonzero());
#    a failure names the
#    counters that were not 0 ("na": the counter was unavailable).  After
#    all of them, the "unguarded" column of the stats must be 0.
# The kernel alarms (a hist trigger on iomap_dio_invalidate_fail, a kprobe
# event with a hist trigger on dio_warn_stale_pagecache) are armed once,
# before any run, and shared by all of them (RACES_ALARMS=shared).
# Names: races/caseN[-variant]/without-mapex, .../with-mapex (run-all adds
# the kernel and filesystem in front).
set -uo pipefail
cd "${MAPEX_PROJ:-$(dirname "$0")/../..}" || exit 2

R=tests/races
KO=${MAPEX_KO:-build/$(uname -r)/mapex.ko}
FS=${MAPEX_FS:-$(stat -f -c %T /mnt/scratch)}
TEETH_SECONDS=${RACES_TEETH_SECONDS:-30}
SECONDS_WITH=${RACES_SECONDS:-5}
SECONDS_CLOSED=${RACES_CLOSED_SECONDS:-2}
DIR=/mnt/scratch
failed=0 loaded_here=0

pass() { echo "PASS: races/$1"; }
fail() { echo "FAIL: races/$1 ${2:-}"; failed=1; }
skip() { echo "SKIP: races/$1 ${2:-}"; }
# The kernel alarms every run counts (tests/races/common.c): armed here
# once, before any workload, and shared by all runs (RACES_ALARMS=shared)
# instead of each run arming and disarming them under its own load: every
# arming patches kernel text (the tracepoint's static key and call, the
# kprobe), and multi-threaded TCG has run stale patched code under load
# (docs/development.md, "QEMU notes"; 23 runs made about 90 such patches).
# The reproducers own the alarms' definitions (--arm-alarms,
# --disarm-alarms in tests/races/common.c).
alarms_armed=no
arm_alarms() {
	local out
	out=$("$R/case1" --arm-alarms 2>&1) && alarms_armed=yes
	echo "# alarms armed once for all runs: ${out:-none}"
	export RACES_ALARMS=shared
}
disarm_alarms() {
	[ "$alarms_armed" = yes ] && "$R/case1" --disarm-alarms >/dev/null
	alarms_armed=no
}
cleanup() {
	[ "$loaded_here" = 1 ] && rmmod mapex 2>/dev/null
	disarm_alarms 2>/dev/null
}
trap cleanup EXIT

for c in 1 2 3 4 5 6 7 8 9; do
	if [ ! -x "$R/case$c" ]; then
		fail build "$R/case$c missing: run make on the host"
		exit 1
	fi
done
if [ "$FS" = none ] || ! mountpoint -q "$DIR"; then
	skip all "no scratch filesystem"
	exit 0
fi

# run NAME ARGS...: runs one reproducer, leaves its report line in $out and
# its exit status in $rc.
run() {
	local n=$1
	shift
	out=$("$R/case$n" --file "$DIR/race-case$n" "$@" 2>/tmp/races-t.err)
	rc=$?
	echo "# case$n $*: ${out:-no report}"
}

# teeth NAME EXPECTED CASE ARGS...: without mapex, must collide if EXPECTED.
teeth() {
	local name=$1 expected=$2
	shift 2
	if [ "$expected" != yes ]; then
		skip "$name/without-mapex" "not run on $FS of $(uname -r): no reliable collision measured there"
		return
	fi
	run "$@" --seconds "$TEETH_SECONDS" --stop-on-hit
	if [ "$rc" -ge 2 ]; then
		fail "$name/without-mapex" "setup error: $(head -c 200 /tmp/races-t.err)"
	elif [ "$rc" = 1 ]; then
		pass "$name/without-mapex"
	else
		fail "$name/without-mapex" "no collision in ${TEETH_SECONDS}s: the reproducer lost its teeth"
	fi
}

[ -e /sys/module/mapex ] && rmmod mapex 2>/dev/null
arm_alarms
if [ -e /sys/module/mapex ]; then
	skip teeth "mapex is loaded and cannot be removed"
else
	case3=no on_xfs=no
	case $FS in ext4|xfs) case3=yes ;; esac
	[ "$FS" = xfs ] && on_xfs=yes
	teeth case3 "$case3" 3
	teeth case7-aio "$on_xfs" 7 --variant aio
	# case 8: large folios (xfs), or btrfs 6.1's readahead over the
	# direct write's extents (its post-write invalidations fail)
	case8=$on_xfs
	case $FS/$(uname -r) in btrfs/6.1.*) case8=yes ;; esac
	teeth case8 "$case8" 8
	case9=no
	case $FS/$(uname -r) in ext4/*|xfs/*|btrfs/6.1.*) case9=yes ;; esac
	teeth case9 "$case9" 9
	# A direct read from the block device, and a pipe read into the
	# mapping: no filesystem hook sees either.
	teeth case9-bdev-read "$case9" 9 --variant bdev-read
	teeth case9-pipe-read "$case9" 9 --variant pipe-read
fi

# As on a CPU that enforces IBT: the originals sealed on an IBT kernel
# (do_truncate among them) are called back by direct jumps.
if ! insmod "$KO" test_assume_ibt=1; then
	fail load "insmod $KO test_assume_ibt=1 failed"
	exit 1
fi
loaded_here=1
# nonzero LINE CASE: the counters of a report line that must be 0 with mapex
# and are not, as "violations=3 warn=1" (empty if all are 0).
# On btrfs, tp (a failed pre-write invalidation, after which btrfs writes
# through the page cache instead) is asserted since 0.6.5: btrfs's
# ->release_folio refuses a folio whose extent range is locked, and a read
# bio or the previous direct write's ordered extent keeps it locked after
# the folios are unlocked; a direct write's refused invalidation now waits
# for that IO inside its grant (module/settle.c; docs/results.md,
# "btrfs").  The data, the fsync EIO and the failed post-write
# invalidations (warn) are asserted: readahead into a direct write's range
# caused those (case 8) until 0.6.4 (module/readahead.c).  Except the
# fsync EIO of 9/dio-read and 9/bdev-read on btrfs: a DMA into a pinned
# page of the mapping dirties it after writeback may have cleaned it,
# without ->page_mkwrite, and btrfs (6.12: "marked dirty without notifying
# the fs", -EUCLEAN) refuses to write such a folio back, with and without
# mapex (docs/results.md, "btrfs"); writeback never takes the range lock
# (locking rule 9).
# 9/dio-read was exempt from tp before 0.6.0: the block layer's deferred
# re-dirtying of the read's pages ran unguarded (now module/redirty.c).
# Case 9's reads into the mapping must also all complete (efault=0): a
# refused nested fault is redone (module/rw.c), a block device's direct IO
# takes its buffer's ranges first (module/remote.c), and a pipe read's
# kernel-mode fault waits fault_wait_ms for its range (module/fault.c); on
# every fs.
nonzero() {
	local f v bad="" fields="violations eio tp warn"
	if [ "$FS" = btrfs ] && [[ $1 == *variant=@(dio-read|bdev-read)* ]]; then
		fields="violations tp warn"
	fi
	[ "$2" = 9 ] && fields="$fields efault"
	for f in $fields; do
		v=$(sed -nE "s/.* $f=([0-9a-z]+).*/\1/p" <<<"$1")
		[ "$v" = 0 ] || bad="${bad:+$bad }$f=${v:-missing}"
	done
	echo "$bad"
}

for c in 1 2 3 4 5 6 7 7/aio 7/uring 8 8/huge 8/readahead 9 9/read-self 9/pipe-read 9/dio-read 9/bdev-read; do
	n=${c%%/*} name=case$n args=()
	if [ "$c" != "$n" ]; then
		name=case$n-${c#*/} args=(--variant "${c#*/}")
	fi
	secs=$SECONDS_WITH
	case $n in 1|2|4|5|6) secs=$SECONDS_CLOSED ;; esac
	run "$n" "${args[@]}" --seconds "$secs"
	bad=$(nonzero "$out" "$n")
	if [ "$rc" -ge 2 ]; then
		fail "$name/with-mapex" "setup error: $(head -c 200 /tmp/races-t.err)"
	elif [ -n "$bad" ]; then
		fail "$name/with-mapex" "not 0 with mapex: $bad ($out)"
	elif [ "$rc" != 0 ] && [ "$FS" != btrfs ]; then
		fail "$name/with-mapex" "exit $rc: $out"
	else
		# btrfs: exit 1 for the unasserted EIO (nonzero()); printed above
		pass "$name/with-mapex"
	fi
done
# The checkpoints and the collision detector (a folio dirtied under another
# task's direct write or inval range, whatever path) saw nothing unguarded
# during all of the above.
# btrfs: the direct_write row is printed, not failed (interpose.t, unguarded()).
ung=$(awk -v fs="$FS" 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == "unguarded") c = i; next }
	c && $c != 0 && !(fs == "btrfs" && $1 == "direct_write") { printf "%s=%s ", $1, $c }' \
	"/sys/kernel/mapex/fs/$FS/stats")
echo "# unguarded: $(awk 'NR > 1 { printf "%s=%s ", $1, $NF }' "/sys/kernel/mapex/fs/$FS/stats")"
if [ "$(cat /sys/module/mapex/parameters/collision_check)" != Y ]; then
	fail unguarded/with-mapex "collision_check is off"
elif [ -z "$ung" ]; then
	pass unguarded/with-mapex
else
	fail unguarded/with-mapex "unguarded: $ung"
fi
rmmod mapex || fail unload "rmmod mapex failed"
loaded_here=0
disarm_alarms
exit $failed
