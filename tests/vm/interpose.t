#!/bin/bash
# tests/vm/interpose.t - tests of the mapex interposition (issue 4), run
# inside the VM as root by tests/vm/run-all on the scratch filesystem that
# vm-run mounted at /mnt/scratch ($MAPEX_FS), with the module $MAPEX_KO.
#
# 1. Correctness: a fixed sequence of buffered, direct and mmap writes,
#    punch, zero, collapse/insert (where the filesystem has them) and
#    truncate gives the same md5 without and with mapex; fio (buffered,
#    libaio direct, mmap, punch jobs on regions of one shared file, with a
#    truncate loop past them) verifies its data with mapex loaded; the
#    stats show fault, buffered, direct_read, direct_write and inval ranges
#    acquired.
# 2. No deadlock, each under a timeout (and the VM's 20 s hung-task check):
#    read() into an mmap of the same range, O_DIRECT read into it, O_DIRECT
#    write from it, write() from an mmap while the range is punched, two
#    processes doing direct reads into each other's mmap, mmap/munmap next
#    to direct IO and faults (tests/vm/progs/mxio).  The refused/redo/retry counters must move
#    where the design says they do.
# 3. Stress: mxio mix (3 processes, every operation) plus fio libaio direct
#    IO on the same file for MAPEX_STRESS_SECONDS (default 120), toggling
#    enabled 0/1 for the second half; then MAPEX_MODULE_CYCLES (default 12
#    in a --tcg single boot, 0 otherwise) insmod/rmmod cycles
#    under the same workload (rmmod retried while it fails with EBUSY, which
#    only in-flight async IO may cause), after which the module, its sysfs
#    tree and its ftrace hooks must be gone and dmesg must hold no warning.
#    MAPEX_ONLY_CYCLES=1 runs only these cycles (scripts/check's --tcg
#    single boot).
# 4. Bad input: enabled refuses garbage and out-of-range values with EINVAL
#    and keeps its value; matrix, stats, version and the parameter refuse
#    writes; a non-root write is refused; an unknown name in filesystems=
#    or a bad fault_wait_ms= fails the load with EINVAL and leaves no
#    /sys/kernel/mapex; filesystems=xfs creates only fs/xfs; fault_wait_ms
#    refuses bad writes with a logged reason and keeps its value.
# 5. Truncate: with test_assume_ibt=1 (deciding as on a CPU that enforces
#    IBT; do_truncate is sealed on an IBT kernel and called back by a
#    direct jump) ftruncate, truncate and O_TRUNC take INVAL; with
#    do_truncate held by another IPMODIFY user they are counted as
#    unguarded.  Sections 1 to 3 run with test_assume_ibt=1.
# Names: interpose/<check> (run-all adds the kernel and filesystem).
set -uo pipefail
cd "${MAPEX_PROJ:-$(dirname "$0")/../..}" || exit 2

KO=${MAPEX_KO:-build/$(uname -r)/mapex.ko}
FS=${MAPEX_FS:-$(stat -f -c %T /mnt/scratch)}
MXIO=tests/vm/progs/mxio
DIR=/mnt/scratch/interpose
SYS=/sys/kernel/mapex
STRESS=${MAPEX_STRESS_SECONDS:-120}
# Multi-threaded TCG was seen to run a stale ftrace int3 forever after the
# kernel had restored the instruction (insmod/rmmod patch hot call sites
# under load): the cycles run by default only in a --tcg single boot, which
# scripts/check adds for each kernel.
if [ "${MAPEX_TCG:-multi}" = single ]; then
	CYCLES=${MAPEX_MODULE_CYCLES:-12}
else
	CYCLES=${MAPEX_MODULE_CYCLES:-0}
fi
NEST=${MAPEX_NEST_SECONDS:-3}
TMP=$(mktemp -d /tmp/interpose-t.XXXXXX)
bgpids=()
T0=$SECONDS

pass() { echo "PASS: interpose/$1"; }
fail() { echo "FAIL: interpose/$1 ${2:-}"; }
skip() { echo "SKIP: interpose/$1 ${2:-}"; }
note() { echo "# [$((SECONDS - T0))s] $*"; }

stop_bg() {
	local p
	for p in "${bgpids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${bgpids[@]}"; do
		wait "$p" 2>/dev/null
	done
	bgpids=()
}
# btrfs on 6.12 leaves an ordered extent waiting for the flusher when pages
# were dirtied through a direct-IO pin (it logs "marked dirty without
# notifying the fs"): with the default 30 s dirty expiry a write or fault
# there can stall past the 20 s hung-task limit, on the stock kernel too
# under this file's stress workload (docs/locking.md, "Known limits").
# Expire dirty pages after 3 s here, so the hung-task check still catches
# any real deadlock.  MAPEX_DEFAULT_WRITEBACK=1 keeps the defaults.
wb_expire="" wb_interval=""
if [ "$FS" = btrfs ] && [ "${MAPEX_DEFAULT_WRITEBACK:-0}" != 1 ]; then
	wb_expire=$(sysctl -n vm.dirty_expire_centisecs)
	wb_interval=$(sysctl -n vm.dirty_writeback_centisecs)
	sysctl -qw vm.dirty_expire_centisecs=300 vm.dirty_writeback_centisecs=100
fi
# The kernel's own stale-cache alarms, counted in the trace buffer: the
# iomap_dio_invalidate_fail tracepoint and calls of
# dio_warn_stale_pagecache() (a kprobe: its dmesg line is rate-limited).
TR=/sys/kernel/tracing
# Every event in the buffer also records its kernel stack.
alarms_on() {
	echo 1 > $TR/options/stacktrace &&
	echo 'p:interpose_t_warn dio_warn_stale_pagecache' >> $TR/kprobe_events &&
	echo 1 > $TR/events/kprobes/interpose_t_warn/enable &&
	echo 1 > $TR/events/iomap/iomap_dio_invalidate_fail/enable
}
alarms_off() {
	echo 0 > $TR/events/iomap/iomap_dio_invalidate_fail/enable
	echo 0 > $TR/events/kprobes/interpose_t_warn/enable
	echo '-:interpose_t_warn' >> $TR/kprobe_events
	echo 0 > $TR/options/stacktrace
} 2>/dev/null
cleanup() {
	stop_bg
	alarms_off
	[ -e /sys/module/mapex ] && rmmod mapex 2>/dev/null
	rm -rf "$TMP"
	[ -z "$wb_expire" ] || sysctl -qw vm.dirty_expire_centisecs="$wb_expire" \
		vm.dirty_writeback_centisecs="$wb_interval"
}
trap cleanup EXIT

if [ ! -x "$MXIO" ]; then
	fail build "$MXIO missing: run make -C tests/vm/progs on the host"
	exit 1
fi
if [ "$FS" = none ] || ! mountpoint -q /mnt/scratch; then
	skip all "no scratch filesystem"
	exit 0
fi
for tool in fio xfs_io python3 setpriv; do
	command -v "$tool" >/dev/null || { fail tools "$tool missing"; exit 1; }
done
if [ -e /sys/module/mapex ] && ! rmmod mapex; then
	fail setup "mapex was loaded by someone else and cannot be removed"
	exit 1
fi
mkdir -p "$DIR"
alarms_on || { fail setup "cannot trace the kernel's stale-cache alarms"; exit 1; }

# stat_get ROW COLUMN: one counter of $FS (0 when unreadable).
stat_get() {
	awk -v row="$1" -v col="$2" '
		NR == 1 { for (i = 2; i <= NF; i++) if ($i == col) c = i; next }
		$1 == row && c { print $c; found = 1 }
		END { if (!found) print 0 }' "$SYS/fs/$FS/stats" 2>/dev/null || echo 0
}
# snap: every counter of $FS as "row/col=value" words, for delta, and the
# kernel's alarms as kernel/invalidate_fail and kernel/warn_stale.
snap() {
	awk 'NR == 1 { for (i = 2; i <= NF; i++) col[i] = $i; next }
	     { for (i = 2; i <= NF; i++) printf "%s/%s=%s\n", $1, col[i], $i }' \
		"$SYS/fs/$FS/stats" 2>/dev/null
	echo "kernel/invalidate_fail=$(grep -c ' iomap_dio_invalidate_fail:' $TR/trace)"
	echo "kernel/warn_stale=$(grep -c ' interpose_t_warn:' $TR/trace)"
}
# no_alarms NAME BEFORE AFTER: the kernel reported no stale page cache, on
# every filesystem (btrfs since 0.6.5: module/settle.c).
no_alarms() {
	local a
	a=$(moved "$2" "$3" | tr ' ' '\n' | grep '^kernel/' | tr '\n' ' ')
	if [ -z "$a" ]; then
		pass "$1"
	else
		fail "$1" "$a"
	fi
}
# delta BEFORE AFTER ROW/COL: the growth of one counter between two snaps.
delta() {
	printf '%s\n%s\n' "$1" "$2" | awk -F= -v k="$3" -v n="$(printf '%s\n' "$1" | wc -l)" \
		'$1 == k { if (NR <= n) b = $2; else a = $2 } END { print a - b }'
}
# moved BEFORE AFTER: "row/col+N ..." for every counter that grew.
moved() {
	printf '%s\n%s\n' "$1" "$2" | awk -F= -v n="$(printf '%s\n' "$1" | wc -l)" '
		NR <= n { b[$1] = $2; next }
		$2 != b[$1] { printf "%s+%d ", $1, $2 - b[$1] }'
}
# unguarded BEFORE AFTER: the unguarded counters that grew, or nothing.
# On btrfs, a folio dirtied under another task's direct write by a direct
# write that btrfs turned into a buffered one (under its shared inode
# lock) is counted by the collision detector in the direct_write row: a
# real collision of two overlapping direct writes that mapex lets share
# (docs/locking.md, "Known limits").  It is printed, not failed, there.
unguarded() {
	local u
	u=$(moved "$1" "$2" | tr ' ' '\n' | grep unguarded)
	if [ "$FS" = btrfs ] && grep -q '^direct_write/unguarded' <<<"$u"; then
		echo "# btrfs, direct write turned buffered under another's: $(grep '^direct_write/unguarded' <<<"$u")" >&2
		u=$(grep -v '^direct_write/unguarded' <<<"$u")
	fi
	tr '\n' ' ' <<<"$u" | sed 's/ *$//'
}
# no_unguarded NAME BEFORE AFTER: every operation between the snaps found
# the range it needs held (mapex enabled throughout).
# A failure prints the mapex_unguarded events of the trace buffer (where,
# which checkpoint, and the kernel stack of the first few).
no_unguarded() {
	local u
	u=$(unguarded "$2" "$3")
	if [ -z "$u" ]; then
		pass "$1"
	else
		fail "$1" "$u"
		grep -A 24 ' mapex_unguarded:' $TR/trace | head -n 60 | sed 's/^/# /'
	fi
}
# load [PARAMS...]: insmod, then trace every unguarded checkpoint event
# (with its stack: alarms_on) for no_unguarded's report.  Not a stacktrace
# trigger: rmmod of a module with a trigger on its event WARNs
# (docs/ABI/testing/tracefs-mapex).
load() {
	if insmod "$KO" "$@" 2> "$TMP/insmod.err"; then
		echo 1 > $TR/events/mapex/mapex_unguarded/enable 2>/dev/null
		return 0
	fi
	echo "# insmod $*: $(cat "$TMP/insmod.err")"
	return 1
}
# unload: rmmod, retried while the module is in use (async IO in flight
# holds a reference): kmod says "in use" (EBUSY) or the kernel refuses with
# EWOULDBLOCK ("Resource temporarily unavailable").  Sets $busy to the
# number of refusals.
unload() {
	local tries=0
	busy=0
	while ! rmmod mapex 2> "$TMP/rmmod.err"; do
		if ! grep -qiE 'in use|busy|temporarily unavailable' "$TMP/rmmod.err"; then
			echo "# rmmod: $(cat "$TMP/rmmod.err")"
			return 1
		fi
		busy=$((busy + 1))
		tries=$((tries + 1))
		[ $tries -gt 300 ] && { echo "# rmmod busy for 60 s"; return 1; }
		sleep 0.2
	done
	[ ! -e /sys/module/mapex ]
}

# The stress workload of 3a and 3b.
SF=$DIR/stress
workload() {	# SECONDS: mxio mix (3 processes) + fio libaio on the same file
	"$MXIO" mix "$SF" "$1" 3 > "$TMP/mix.out" 2>&1 &
	mixpid=$!
	sleep 1	# mix lays out the file first
	fio --name=aio --filename="$SF" --size=6m --bs=16k --rw=randrw \
		--ioengine=libaio --direct=1 --iodepth=16 --time_based \
		--runtime="$1" --continue_on_error=all --output=/dev/null \
		> /dev/null 2>&1 &
	fiopid=$!
}

# ---- 3b. insmod/rmmod cycles under the workload ---------------------------
# module_cycles: with mapex loaded, rmmod it, run the workload and
# $CYCLES insmod/rmmod cycles under it; then the module, its sysfs tree
# and its ftrace hooks must be gone and dmesg clean.  Ends the test.
module_cycles() {
	ftrace_before=""
	unload || fail module-cycles "first rmmod: $(cat "$TMP/rmmod.err")"
	ef=/sys/kernel/tracing/enabled_functions
	[ -r $ef ] && ftrace_before=$(wc -l < $ef)
	dmesg_mark=$(dmesg | wc -l)
	workload 100000
	busy_total=0 ok=1 t_cycles=$SECONDS
	for i in $(seq 1 "$CYCLES"); do
		if ! load; then
			fail module-cycles "insmod #$i: $(cat "$TMP/insmod.err")"
			ok=0
			break
		fi
		sleep 0.5
		if ! unload; then
			fail module-cycles "rmmod #$i: $(cat "$TMP/rmmod.err")"
			ok=0
			break
		fi
		busy_total=$((busy_total + busy))
		if [ -e $SYS ]; then
			fail module-cycles "$SYS left after rmmod #$i"
			ok=0
			break
		fi
	done
	kill $mixpid $fiopid 2>/dev/null
	wait $mixpid $fiopid 2>/dev/null
	note "$CYCLES cycles in $((SECONDS - t_cycles))s, $busy_total refusals while in use"
	if [ "$CYCLES" = 0 ]; then
		skip module-cycles "run in the --tcg single boot (MAPEX_MODULE_CYCLES to force)"
	elif [ $ok = 1 ]; then
		pass module-cycles-$CYCLES
	fi
	if [ -e /sys/module/mapex ] || [ -e $SYS ] || grep -q '^mapex ' /proc/modules; then
		fail module-gone "mapex still present after the last rmmod"
	else
		pass module-gone
	fi
	if [ -n "$ftrace_before" ]; then
		ftrace_after=$(wc -l < $ef)
		if [ "$ftrace_after" = "$ftrace_before" ]; then
			pass ftrace-hooks-gone
		else
			fail ftrace-hooks-gone "enabled_functions: $ftrace_before lines before, $ftrace_after after"
		fi
	fi
	# A KCSAN report of a race between two of the kernel's own functions
	# is not ours (scripts/kcsan-filter; vm-run counts it apart).
	if dmesg | tail -n +"$((dmesg_mark + 1))" | scripts/kcsan-filter |
	   grep -E 'WARNING|BUG|Oops|leak|mapex:.*(error|fail)' > "$TMP/dmesg.bad"; then
		fail dmesg-clean "$(head -n 3 "$TMP/dmesg.bad" | tr '\n' ' ')"
	else
		pass dmesg-clean
	fi
	note "total $((SECONDS - T0))s"
	rm -rf "$DIR"
}

# MAPEX_ONLY_CYCLES=1 runs only 3b (scripts/check's single-threaded TCG
# boot, where the cycles are safe to run; the multi-threaded boots ran the
# rest).
if [ "${MAPEX_ONLY_CYCLES:-0}" = 1 ]; then
	load || { fail insmod "$(cat "$TMP/insmod.err")"; exit 1; }
	module_cycles
	exit 0
fi

# ---- 4b. module parameter (first: these loads must fail or be removed) ----
# finit_module directly, to see the errno rather than insmod's wording.
cat > "$TMP/finit.py" <<'EOF'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
r = libc.syscall(313, fd, sys.argv[2].encode(), 0)	# finit_module
print("ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
EOF
mark=$(dmesg | wc -l)
for param in filesystems=nosuchfs filesystems=ext4,nosuchfs filesystems=tmpfs \
	     fault_wait_ms=10001 fault_wait_ms=soon; do
	case $param in
	filesystems=*) name=param-unknown-fs/${param#filesystems=} ;;
	*) name=param-bad-value/$param ;;
	esac
	r=$(python3 "$TMP/finit.py" "$KO" "$param")
	if [ "$r" = EINVAL ] && [ ! -e $SYS ] && [ ! -e /sys/module/mapex ]; then
		pass "$name"
	else
		fail "$name" "finit_module: $r, $SYS $( [ -e $SYS ] && echo present || echo absent)"
		[ -e /sys/module/mapex ] && rmmod mapex
	fi
done
# The three unknown filesystems end on one "not loaded" line each in the
# kernel log (a bad value is refused by the parameter parser, before init).
n=$(dmesg | tail -n +"$((mark + 1))" | grep -c 'mapex: not loaded (-EINVAL)')
if [ "$n" = 3 ]; then
	pass param-refusal-logged
else
	fail param-refusal-logged "$n of 3 refused loads logged 'mapex: not loaded (-EINVAL)'"
fi
n=$(dmesg | tail -n +"$((mark + 1))" | grep -c "mapex: fault_wait_ms: '.*' is not a number of milliseconds")
if [ "$n" = 2 ]; then
	pass param-bad-value-logged
else
	fail param-bad-value-logged "$n of 2 bad fault_wait_ms values logged"
fi
if load filesystems=xfs; then
	dirs=$(cd $SYS/fs && echo *)
	if [ "$dirs" = xfs ] && [ -e $SYS/fs/xfs/enabled ] && [ -e $SYS/fs/xfs/stats ]; then
		pass param-only-xfs
	else
		fail param-only-xfs "fs/ holds: $dirs"
	fi
	unload || fail param-only-xfs-unload "$(cat "$TMP/rmmod.err")"
else
	fail param-only-xfs "insmod filesystems=xfs failed"
fi
# Truncates, in the two states do_truncate's hook can be in.  inval COLUMN
# of $FS's stats; truncates SUFFIX: an ftruncate(2), a truncate(2) and an
# O_TRUNC open of $DIR/trunc-SUFFIX, after which "acquired unguarded" moved
# by "A U" (the differences) is printed.
inval() { awk -v c="$1" 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == c) k = i; next }
	$1 == "inval" { print $k }' "$SYS/fs/$FS/stats"; }
truncates() {
	local t=$DIR/trunc-$1 a0 u0
	xfs_io -f -c "pwrite -q 0 1m" -c fsync "$t"
	a0=$(inval acquired) u0=$(inval unguarded)
	xfs_io -c "truncate 512k" "$t"
	python3 -c "import os, sys; os.truncate(sys.argv[1], 100000)" "$t"
	: > "$t"
	echo "$(($(inval acquired) - a0)) $(($(inval unguarded) - u0))"
}
# test_assume_ibt=1: decide as on a CPU that enforces IBT.  do_truncate is
# never address-taken, so a kernel built with IBT (Debian's 6.12) seals its
# ENDBR at boot, CPU or not: mapex calls it back by a direct jump, and every
# truncate takes INVAL.  The hooks file says "installed:sealed" there.
ibt_kernel=no
grep -qx CONFIG_X86_KERNEL_IBT=y "/boot/config-$(uname -r)" 2>/dev/null && ibt_kernel=yes
if load test_assume_ibt=1; then
	want=installed
	[ $ibt_kernel = yes ] && want=installed:sealed
	state=$(awk '$1 == "do_truncate" { print $3 }' "$SYS/fs/$FS/hooks")
	got=$(truncates ibt)
	if [ "$state" = "$want" ] && [ "$got" = "3 0" ] &&
	   [ "$(cat "$SYS/fs/$FS/guarded")" = yes ]; then
		pass assume-ibt/truncates-guarded
	else
		fail assume-ibt/truncates-guarded "do_truncate $state (want $want on an IBT=$ibt_kernel kernel), inval acquired/unguarded moved by '$got' (want '3 0'), guarded: $(cat "$SYS/fs/$FS/guarded")"
	fi
	unload || fail assume-ibt-unload "$(cat "$TMP/rmmod.err")"
else
	fail assume-ibt "insmod test_assume_ibt=1 failed"
fi
# do_truncate held by another ftrace IPMODIFY user (livepatch; here
# tests/modules/ipmodify_squatter): mapex loads without it, and every
# truncate is only counted by the truncate_pagecache checkpoint, never
# taken (no range is taken outside freeze protection: docs/locking.md,
# rule 13), and never silently missed.
squatter=build/$(uname -r)/tests/modules/ipmodify_squatter/ipmodify_squatter.ko
if ! insmod "$squatter" symbol=do_truncate; then
	fail truncate-not-hooked "cannot load $squatter"
elif load; then
	state=$(awk '$1 == "do_truncate" { print $3 }' "$SYS/fs/$FS/hooks")
	got=$(truncates held)
	if [ "$state" = failed:-16 ] && [ "$got" = "0 3" ]; then
		pass truncate-not-hooked/truncates-counted
	else
		fail truncate-not-hooked/truncates-counted "do_truncate $state (want failed:-16), inval acquired/unguarded moved by '$got' (want '0 3')"
	fi
	unload || fail truncate-not-hooked-unload "$(cat "$TMP/rmmod.err")"
	rmmod ipmodify_squatter
else
	fail truncate-not-hooked "insmod with do_truncate held failed"
	rmmod ipmodify_squatter
fi
note "parameter checks done"

# ---- 1a. a fixed sequence of operations, without and with mapex -----------
F=$DIR/sequence
falloc_ok() {	# OP: whether this filesystem supports the fallocate OP here
	local out
	rm -f "$DIR/probe"
	out=$(xfs_io -f -c "pwrite -q 0 256k" -c "$1 64k 64k" "$DIR/probe" 2>&1)
	[[ $out != *"not supported"* ]]
}
shifts=()
for op in fcollapse finsert; do
	if falloc_ok $op; then shifts+=(-c "$op 512k 64k"); else note "$FS: no $op"; fi
done
fzero=(-c "fzero 1500000 20000")
falloc_ok fzero || { fzero=(); note "$FS: no fzero"; }
rm -f "$DIR/probe"
sequence() {	# prints the md5 of the result twice: cached, then from disk
	rm -f "$F"
	xfs_io -f -c "pwrite -q -S 0x11 -b 64k 0 2m" "$F" &&
	xfs_io -d -c "pwrite -q -S 0x22 -b 64k 256k 512k" "$F" &&
	xfs_io -c "pwrite -q -S 0x33 5000 30000" -c "mmap -rw 0 2m" \
		-c "mread 0 2m" -c "mwrite -S 0x44 1m 100000" \
		-c "msync -s 0 2m" -c "munmap" "$F" &&
	xfs_io -c "fpunch 300000 70000" "${fzero[@]}" -c "fpunch 64k 64k" \
		"${shifts[@]}" "$F" &&
	xfs_io -c "truncate 1900000" "$F" &&
	xfs_io -d -c "pwrite -q -S 0x55 1m 64k" -c "pread -q 0 1m" "$F" &&
	xfs_io -c "truncate 2200000" -c "pwrite -q -S 0x66 2100000 5000" \
		-c "mmap -rw 0 2m" -c "mwrite -S 0x77 8000 5000" -c "munmap" \
		-c "fsync" "$F" || { echo "sequence failed"; return 1; }
	md5sum < "$F" | cut -d' ' -f1
	echo 3 > /proc/sys/vm/drop_caches
	md5sum < "$F" | cut -d' ' -f1
}
without=$(sequence 2>&1 | tr '\n' ' ')
# The rest runs as on a CPU that enforces IBT (see assume-ibt above).
if ! load test_assume_ibt=1; then
	fail insmod "$(cat "$TMP/insmod.err")"
	exit 1
fi
if [ ! -e "$SYS/fs/$FS/stats" ]; then
	fail insmod "no $SYS/fs/$FS after insmod"
	exit 1
fi
before=$(snap)
with=$(sequence 2>&1 | tr '\n' ' ')
after=$(snap)
echo "# counters moved: $(moved "$before" "$after")"
no_unguarded sequence-no-unguarded "$before" "$after"
set -- $with
if [ "$with" = "$without" ] && [ $# = 2 ] && [ "$1" = "$2" ] && [ ${#1} = 32 ]; then
	pass sequence-same-data
else
	fail sequence-same-data "without mapex: $without; with: $with"
fi
note "sequence done (${#shifts[@]} shift ops)"

# ---- 1b. fio mixed on one shared file, verified ---------------------------
FIOF=$DIR/fio-shared
xfs_io -f -c "truncate 20m" "$FIOF"
cat > "$TMP/mixed.fio" <<EOF
[global]
filename=$FIOF
size=2m
bs=4k
rw=randwrite
verify=crc32c
verify_fatal=1
do_verify=1
randrepeat=1
# fio 3.33's mmap engine ignores offset= when mapping: keep it at 0.
[mmap]
offset=0
ioengine=mmap
[direct]
offset=4m
ioengine=libaio
direct=1
iodepth=8
[buffered]
offset=8m
ioengine=psync
[punch]
offset=12m
ioengine=falloc
rw=randtrim
verify=0
do_verify=0
# Unverified reads across the written regions: other modes, same ranges.
[buffered-reads]
offset=0
size=12m
io_size=2m
ioengine=psync
rw=randread
verify=0
do_verify=0
[direct-reads]
offset=0
size=12m
io_size=2m
ioengine=libaio
direct=1
iodepth=4
rw=randread
verify=0
do_verify=0
EOF
before=$(snap)
( while :; do xfs_io -c "truncate 20m" -c "truncate 17m" "$FIOF"; done ) &
bgpids+=($!)
timeout -k 5 300 fio --output="$TMP/fio.out" "$TMP/mixed.fio" > /dev/null 2>&1
rc=$?
stop_bg
after=$(snap)
echo "# counters moved: $(moved "$before" "$after")"
no_unguarded fio-no-unguarded "$before" "$after"
if [ $rc = 0 ] && ! grep -qiE 'verify|err=[ ]*[1-9]' "$TMP/fio.out"; then
	pass fio-mixed-verify
else
	fail fio-mixed-verify "fio exit $rc: $(grep -iE 'error|verify|err=' "$TMP/fio.out" | head -3 | tr '\n' ' ')"
fi
note "fio done"

# ---- 1c. every mode acquired ----------------------------------------------
missing=""
for row in fault buffered direct_read direct_write inval; do
	[ "$(stat_get $row acquired)" -gt 0 ] || missing="$missing $row"
done
if [ -z "$missing" ]; then
	pass stats-all-modes-acquired
else
	fail stats-all-modes-acquired "acquired 0 for:$missing"
fi
sed 's/^/# /' "$SYS/fs/$FS/stats"

# ---- 4a. sysfs bad input ---------------------------------------------------
cat > "$TMP/sysfs.py" <<'EOF'
import errno, os, sys
SYS = "/sys/kernel/mapex"

def out(ok, name, why=""):
    print("%s: interpose/sysfs/%s%s" % ("PASS" if ok else "FAIL", name,
                                      "" if ok else " " + why))

def write(path, data):
    """-> 'ok N' or an errno name (open: prefix when open failed)"""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return "open:" + errno.errorcode[e.errno]
    try:
        return "ok %d" % os.write(fd, data)
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        os.close(fd)

def read(path):
    with open(path, "rb") as f:
        return f.read()

bad = [b"2", b"-1", b"yes", b"\n", b"1 1", b"2\n", b" 1", b"0x1", b"10",
       b"4294967297", b"1\n1", b"on"]
for fs in sorted(os.listdir(SYS + "/fs")):
    en = "%s/fs/%s/enabled" % (SYS, fs)
    for init in (b"0", b"1"):
        r = write(en, init + b"\n")
        if r != "ok 2" or read(en) != init + b"\n":
            out(False, "%s/enabled-set-%s" % (fs, init.decode()), r)
            continue
        for b in bad:
            r = write(en, b)
            v = read(en)
            name = "%s/enabled-%s-keeps-%s" % (fs, repr(b)[2:-1] or "empty",
                                               init.decode())
            out(r == "EINVAL" and v == init + b"\n", name,
                "write: %s, value now %r" % (r, v))
        # A zero-byte write never reaches the module: sysfs returns 0.
        r = write(en, b"")
        v = read(en)
        out(r in ("EINVAL", "ok 0") and v == init + b"\n",
            "%s/enabled-zero-bytes-keeps-%s" % (fs, init.decode()),
            "write: %s, value now %r" % (r, v))
    write(en, b"1")
    ro = ["%s/fs/%s/stats" % (SYS, fs)]
    if fs == sys.argv[1]:
        ro += [SYS + "/matrix", SYS + "/version",
               "/sys/module/mapex/parameters/filesystems"]
    for path in ro:
        before = read(path)
        for data in (b"0", b"garbage\n"):
            r = write(path, data)
            after = read(path)
            # stats may grow meanwhile: compare its header only
            if path.endswith("/stats"):
                same = before.split(b"\n")[0] == after.split(b"\n")[0]
            else:
                same = before == after
            name = "%s-refuses-%s" % (path.replace(SYS + "/", "").replace(
                "/sys/module/mapex/", ""), repr(data)[2:-1].replace("\\n", ""))
            out(not r.startswith("ok") and same, name,
                "write: %s" % r)
EOF
python3 "$TMP/sysfs.py" "$FS"
en=$SYS/fs/$FS/enabled
for v in 1 0; do
	echo $v > $en
	if setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo $((1 - v)) > $en" 2>/dev/null; then
		fail "sysfs/non-root-refused-$v" "nobody wrote $((1 - v))"
	elif [ "$(cat $en)" = $v ]; then
		pass "sysfs/non-root-refused-$v"
	else
		fail "sysfs/non-root-refused-$v" "value changed to $(cat $en)"
	fi
done
echo 1 > $en
# collision_check: on by default, refuses garbage and keeps its value.
cc=/sys/module/mapex/parameters/collision_check
if [ "$(cat $cc 2>/dev/null)" = Y ]; then pass sysfs/collision-check-default-on; else
	fail sysfs/collision-check-default-on "reads '$(cat $cc 2>&1)'"; fi
if (echo garbage > $cc) 2>/dev/null; then
	fail sysfs/collision-check-refuses-garbage "write accepted"
elif [ "$(cat $cc)" = Y ]; then
	pass sysfs/collision-check-refuses-garbage
else
	fail sysfs/collision-check-refuses-garbage "value now $(cat $cc)"
fi
# fault_wait_ms: 100 by default, 0..10000, refuses anything else unchanged
# with the reason in the kernel log.
fw=/sys/module/mapex/parameters/fault_wait_ms
if [ "$(cat $fw 2>/dev/null)" = 100 ]; then pass sysfs/fault-wait-default; else
	fail sysfs/fault-wait-default "reads '$(cat $fw 2>&1)'"; fi
for v in garbage -1 10001 1.5 ""; do
	mark=$(dmesg | wc -l)
	if (echo "$v" > $fw) 2>/dev/null; then
		fail "sysfs/fault-wait-refuses/${v:-empty}" "write accepted, now $(cat $fw)"
	elif [ "$(cat $fw)" = 100 ] &&
	     dmesg | tail -n +"$((mark + 1))" | grep -q "mapex: fault_wait_ms: .* is not a number of milliseconds from 0 to 10000"; then
		pass "sysfs/fault-wait-refuses/${v:-empty}"
	else
		fail "sysfs/fault-wait-refuses/${v:-empty}" "value $(cat $fw), log: $(dmesg | tail -n 1)"
	fi
done
if echo 0 > $fw && [ "$(cat $fw)" = 0 ] && echo 10000 > $fw &&
   [ "$(cat $fw)" = 10000 ] && echo 100 > $fw; then
	pass sysfs/fault-wait-accepts-range
else
	fail sysfs/fault-wait-accepts-range "now $(cat $fw)"
	echo 100 > $fw
fi
note "sysfs done"

# ---- 2. nested cases: no deadlock, counters where expected ----------------
# nested NAME CMD: runs mxio CMD under a timeout; $before/$after are snaps.
nested() {
	local name=$1 out rc
	before=$(snap)
	out=$(timeout -k 5 120 "$MXIO" "$2" "$DIR/nest-$2" "$NEST" 2>&1)
	rc=$?
	after=$(snap)
	printf '%s\n' "$out" | sed 's/^/# /'
	nested_out=$out
	echo "# counters moved: $(moved "$before" "$after")"
	note "nested $name"	# its end, to see which case is slow
	if [ $rc = 0 ]; then
		pass "nodeadlock/$name"
		no_unguarded "counters/$name-no-unguarded" "$before" "$after"
		no_alarms "alarms/$name-no-stale-cache" "$before" "$after"
	elif [ $rc = 124 ] || [ $rc = 137 ]; then
		fail "nodeadlock/$name" "still running after 120 s"
	else
		fail "nodeadlock/$name" "exit $rc"
	fi
	return $rc
}
# expect NAME ROW/COL: the counter must have grown during the last nested.
expect() {
	local d
	d=$(delta "$before" "$after" "$2")
	if [ "$d" -gt 0 ]; then pass "$1"; else fail "$1" "$2 did not move"; fi
}

# no_refusal NAME: the last nested case had no fault refused (it fits).
no_refusal() {
	local d
	d=$(delta "$before" "$after" fault/refused)
	if [ "$d" = 0 ]; then pass "$1"; else fail "$1" "fault/refused +$d"; fi
}
if nested read-into-own-mmap nest-read; then
	expect counters/read-into-own-mmap-fault-acquired fault/acquired
	# FAULT fits the task's own BUFFERED range: never refused.
	no_refusal counters/read-into-own-mmap-no-refusal
fi
if nested dio-read-into-own-mmap nest-dio-read; then
	# FAULT fits the task's own DIRECT_READ range: granted, not refused.
	expect counters/dio-read-into-own-mmap-fault-acquired fault/acquired
	no_refusal counters/dio-read-into-own-mmap-no-refusal
fi
if nested dio-write-from-own-mmap nest-dio-write; then
	# A read fault inside the task's own DIRECT_WRITE range only adds
	# clean folios that the write's invalidation drops: covered.
	no_refusal counters/dio-write-from-own-mmap-no-refusal
fi
if nested write-from-mmap-vs-punch write-punch; then
	expect counters/write-punch-inval-acquired inval/acquired
	# A fault on a range the punch holds drops mmap_lock and retries.
	expect counters/write-punch-fault-retry fault/retry
fi
if nested cross-dio-into-mmaps cross-dio; then
	# Each fault lands in the other's DIRECT_READ range: compatible.
	expect counters/cross-dio-fault-acquired fault/acquired
	no_refusal counters/cross-dio-no-refusal
fi
if nested mmap-munmap-dio-faults mmap-loop; then
	expect counters/mmap-loop-direct-read-acquired direct_read/acquired
	expect counters/mmap-loop-direct-write-acquired direct_write/acquired
fi
# Liveness of faults against direct writes (issue 13): no spinning fault,
# killable waits, no starved mmap writer.
if nested fiemap-into-mapping-vs-eof-dio fiemap; then
	# FIEMAP's copy-out into a mapping under the write's range fails
	# fast (EFAULT) or waits its turn; it never spins: retry stays small.
	d=$(delta "$before" "$after" fault/retry)
	r=$(delta "$before" "$after" fault/refused)
	note "fiemap: fault/retry +$d, fault/refused +$r"
	if [ "$d" -lt 100000 ]; then pass counters/fiemap-no-spin; else
		fail counters/fiemap-no-spin "fault/retry +$d"; fi
fi
if nested mmap-writers-vs-dio-stream starve; then
	# Faults under the stream queue for their range (deferred to the
	# return to user) instead of spinning.
	expect counters/starve-fault-deferred fault/retry
	expect counters/starve-fault-acquired fault/acquired
fi
nested kill-blocked-faulting-task kill
# A direct write past EOF zeroes the old EOF block's tail through the page
# cache (xfs): it takes INVAL, so another task's direct write inside EOF,
# in the same folio span, is never in flight over that dirtying.  0.3.0
# took DIRECT_WRITE there: 1333 unguarded in 10 s on 6.12 xfs.
nested direct-write-past-eof-zeroes-gap gap-zero &&
	expect counters/direct-write-past-eof-takes-inval inval/acquired
# Direct reads into a shared mapping while writeback cleans its pages: the
# block layer dirties some again later, from bio_dirty_work, while direct
# writes rewrite the range.  That work item takes FAULT first
# (module/redirty.c, docs/locking.md rule 8).  0.5.0 did not: in 20 s,
# 19896 unguarded and 7 iomap_dio_invalidate_fail on 6.12 xfs, 247
# unguarded on 6.12 ext4.  How often the work item took its ranges is
# printed (it depends on timing, so it is not asserted).
# (op 7 is redirty: include/mapex/modes.h)
echo 'op == 7' > $TR/events/mapex/mapex_acquire/filter &&
	echo 1 > $TR/events/mapex/mapex_acquire/enable
nested deferred-redirty-vs-direct-writes redirty
echo "# bio_dirty_work took its ranges $(grep -c ' mapex_acquire: .* op redirty' $TR/trace) times"
echo 0 > $TR/events/mapex/mapex_acquire/enable
echo 0 > $TR/events/mapex/mapex_acquire/filter
# The kernel storing into a shared mapping of the file through pinned
# pages, for process_vm_writev(), /proc/self/mem and PTRACE_POKEDATA,
# while direct writes rewrite the range: each such write takes FAULT over
# the mapped pages first (module/remote.c, docs/locking.md rule 8).
# 0.6.0 did not: in 20 s on 6.12 xfs, 151 unguarded, 6
# iomap_dio_invalidate_fail, and 23,133 of 23,157 writes refused.
nested remote-writes-vs-direct-writes remote-write
# A direct read into one buffer made of shared mappings of 9 files while
# direct writes rewrite them: its set holds FAULT over all 9 (a set grows
# past the 4 requests it holds in itself; lockdep orders the first 8), and
# each file's page cache equals its disk afterwards.  0.6.2 took the first
# 4 and counted the rest as unguarded: in 10 s on 6.1 xfs, 19,880 fault
# and 89 direct_write unguarded, 89 iomap_dio_invalidate_fail.
nested many-files-vs-direct-writes many-files
# 6.1's splice reads through ->read_iter, 6.12's through filemap_splice_read
# (hooked): either way every sendfile call takes BUFFERED at least once
# (the file's setup and read-back take a few more).
if nested sendfile-vs-direct-writes sendfile; then
	sends=$(sed -n 's/.*: \([0-9]*\) sendfile calls.*/\1/p' <<<"$nested_out")
	d=$(delta "$before" "$after" buffered/acquired)
	if [ -n "$sends" ] && [ "$sends" -gt 0 ] && [ "$d" -ge "$sends" ]; then
		pass counters/sendfile-buffered-acquired
	else
		fail counters/sendfile-buffered-acquired "buffered/acquired +$d for ${sends:-no} sendfile calls"
	fi
fi
# Asynchronous direct IO whose GUP faults pages of a file under a stream
# of direct writes: a write to another file from a shared mapping of it,
# a read into a private mapping of it.  Its buffer's set takes FAULT there
# before submission (reads and writes, shared and private mappings), since
# a refusal after part of an asynchronous IO is queued cannot be redone.
# 0.6.2 took sets for direct reads into shared mappings only: the first
# read into the private mapping failed with EFAULT after 16 redos, and
# with that fixed the first write from the shared one did (6.1 xfs).
nested aio-from-and-into-mappings-of-a-busy-file aio-mmap &&
	no_refusal counters/aio-mmap-no-refusal
# An asynchronous direct write whose source is a mapping of another range
# of its own file, against direct writes to that source: GUP faults the
# source between the write's bios.  0.6.6 left its own file out of the set,
# so such a fault nested in the write's range, was refused when the source
# was busy, and failed the whole IO with EFAULT (6.1 xfs, the first few
# IOs; the stock kernel completes every one).  Since 0.6.7 the write takes
# INVAL over its range and its source together.
if nested aio-write-from-own-mapping aio-own; then
	no_refusal counters/aio-own-no-refusal
	expect counters/aio-own-inval-acquired inval/acquired
fi
# reflink/dedupe (xfs, btrfs): the destination takes INVAL, the source
# DIRECT_READ; a reflink loop against mmap stores and direct writes into
# the destination, with nothing unguarded.
if [ "$FS" = ext4 ]; then
	skip remap/reflink "ext4 has no ->remap_file_range"
else
	xfs_io -f -c "pwrite -S 0x61 0 4m" -c fsync "$DIR/remap-src" > /dev/null
	xfs_io -f -c "pwrite -S 0x62 0 4m" -c fsync "$DIR/remap-dst" > /dev/null
	before=$(snap)
	if xfs_io -c "reflink $DIR/remap-src 0 0 1m" "$DIR/remap-dst" > /dev/null &&
	   cmp -s -n 1048576 "$DIR/remap-src" "$DIR/remap-dst"; then
		pass remap/reflink-data
	else
		fail remap/reflink-data "reflink failed or the data differs"
	fi
	after=$(snap)
	expect counters/remap-inval-acquired inval/acquired
	expect counters/remap-source-direct-read-acquired direct_read/acquired
	before=$(snap)
	( for i in $(seq 100); do
		xfs_io -c "reflink $DIR/remap-src 0 0 1m" "$DIR/remap-dst" > /dev/null ||
			echo "reflink #$i failed"
	done ) > "$TMP/reflink.out" 2>&1 &
	rpid=$!
	out=$(timeout -k 5 120 "$MXIO" starve "$DIR/remap-dst" "$NEST" 2>&1)
	rc=$?
	wait $rpid
	after=$(snap)
	printf '%s\n' "$out" | sed 's/^/# /'
	if [ $rc = 0 ] && [ ! -s "$TMP/reflink.out" ]; then
		pass nodeadlock/reflink-vs-mmap-and-dio
	else
		fail nodeadlock/reflink-vs-mmap-and-dio "mxio exit $rc; $(head -c 200 "$TMP/reflink.out")"
	fi
	no_unguarded counters/reflink-vs-mmap-and-dio-no-unguarded "$before" "$after"
fi
note "nested cases done"

# ---- 3a. stress with enabled toggled for the second half ------------------
before=$(snap)
workload "$STRESS"
half=$((STRESS / 2))
sleep "$half"
mid=$(snap)
no_unguarded stress-no-unguarded-while-enabled "$before" "$mid"
toggles=0
while :; do	# at least once, even if a slow host let the workload end
	echo 0 > $en && echo 1 > $en || { fail stress-toggle "write to enabled failed"; break; }
	toggles=$((toggles + 1))
	kill -0 $mixpid 2>/dev/null || break
	sleep 0.1
done
echo 1 > $en
wait $mixpid
rc=$?
timeout 60 tail --pid=$fiopid -f /dev/null
after=$(snap)
sed 's/^/# /' "$TMP/mix.out"
echo "# $toggles toggles of enabled; counters moved: $(moved "$before" "$after")"
if [ $rc = 0 ]; then
	pass stress-${STRESS}s
else
	fail stress-${STRESS}s "mxio mix exit $rc: $(tail -n 2 "$TMP/mix.out")"
fi
if [ $toggles -gt 0 ]; then
	pass stress-toggle-enabled
else
	fail stress-toggle-enabled "enabled was never toggled"
fi
note "stress done"

module_cycles
exit 0