#!/bin/bash
# tests/vm/mapexstat.t - tests of mapexstat and the mapex tracepoints, run
# inside the VM as root (tests/vm/run-all): error paths and their exit
# status 2, tracepoints in tracefs and perf, --pin/--unpin, JSON and CSV
# output, and a workload with a known number of forced DIRECT-behind-BUFFERED
# waits between two named processes (tests/vm/mapexstat-conflict.c) that
# mapexstat must count, histogram and attribute (waiter and holder pid and
# comm, waiter kernel and user stack), and filter by --comm, --cgroup and
# per thread (-t); and hold times (-L) of AIO holds released away from
# their taker, filtered by --comm and --cgroup.
#
# Contention reporting does not depend on the filesystem, and each run takes
# minutes under TCG: make check runs it on ext4 only (MAPEX_FULL=1: on all).
set -uo pipefail
cd "${MAPEX_PROJ:-$(dirname "$0")/../..}" || exit 2
if [ "${MAPEX_FS:-ext4}" != ext4 ] && [ -z "${MAPEX_FULL:-}" ]; then
	echo "SKIP: mapexstat on $MAPEX_FS (runs on ext4; MAPEX_FULL=1 for every filesystem)"
	exit 0
fi

M=tools/mapexstat/mapexstat
KO=${MAPEX_KO:-build/$(uname -r)/mapex.ko}
PIN=/sys/fs/bpf/mapex
ROUNDS=${MAPEXSTAT_ROUNDS:-5}
TMP=$(mktemp -d /tmp/mapexstat-t.XXXXXX)
failed=0 loaded_here=0

pass() { echo "PASS: mapexstat/$1"; }
fail() { echo "FAIL: mapexstat/$1 ${2:-}"; failed=1; }
skip() { echo "SKIP: mapexstat/$1 ${2:-}"; }

cleanup() {
	[ -e "$PIN" ] && "$M" --unpin >/dev/null 2>&1
	[ -n "${bg:-}" ] && kill $bg 2>/dev/null
	[ -n "${cpid:-}" ] && kill "$cpid" 2>/dev/null
	[ -n "${CG:-}" ] && rmdir "$CG" "$CG2" 2>/dev/null
	[ "$loaded_here" = 1 ] && rmmod mapex 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# expect_error NAME PATTERN CMD...: CMD must exit 2 with PATTERN on stderr.
expect_error() {
	local name=$1 pattern=$2 rc
	shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	if [ $rc = 2 ] && grep -qE "$pattern" "$TMP/err"; then
		pass "$name"
	else
		fail "$name" "exit $rc, stderr: $(head -c 200 "$TMP/err")"
	fi
}

# json_check NAME FILE PYTHON-EXPR: the expression over `d` (the parsed
# document) must hold; prints it when it does not.
json_check() {
	local name=$1 file=$2 expr=$3 why
	if why=$(python3 - "$file" "$expr" 2>&1 <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
def pair(e, w, h): return e["waiter"] == w and e["holder"] == h
ok = eval(sys.argv[2])
if not ok:
    print("not true:", sys.argv[2], "in", json.dumps(d)[:600])
    sys.exit(1)
EOF
	); then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

if [ ! -x "$M" ]; then
	fail build "$M missing: run make on the host"
	exit 1
fi

# ---- before the module is loaded -------------------------------------------
if [ -e /sys/module/mapex ]; then
	rmmod mapex 2>/dev/null
fi
if [ -e /sys/module/mapex ]; then
	skip error-not-loaded "mapex was loaded by someone else and stays"
else
	expect_error error-not-loaded 'not loaded' "$M" -d 1
fi

expect_error error-unknown-option 'unrecognized option' "$M" --no-such-option
expect_error error-unknown-short-option 'invalid option' "$M" -Z
expect_error error-missing-value 'requires an argument' "$M" -i
expect_error error-bad-interval 'bad value' "$M" -i 0
expect_error error-bad-duration 'needs a number' "$M" -d soon
expect_error error-bad-entries 'needs a number' "$M" -E -3
expect_error error-bad-sort-key 'unknown sort key' "$M" -k fastest
expect_error error-bad-mode 'unknown waiter mode' "$M" --mode sideways
expect_error error-bad-holder 'unknown holder mode' "$M" --mode direct_write:sideways
expect_error error-bad-inode 'cannot stat' "$M" --inode /no/such/file
expect_error error-bad-pid 'no process' "$M" -p 2147483647
expect_error error-extra-argument 'unexpected argument' "$M" surplus
expect_error error-pin-and-unpin 'exclude' "$M" --pin --unpin
expect_error error-status-with-filter 'takes only' "$M" --status --mode fault
expect_error error-bad-comm 'bad value' "$M" --comm 0123456789abcdefg
expect_error error-bad-cgroup 'not a cgroup v2' "$M" --cgroup /proc
expect_error error-bad-stacks 'bad value' "$M" -s 0
expect_error error-bad-user-stacks 'bad value' "$M" -U 65
expect_error error-bad-tid 'no thread' "$M" --tid 2147483647
expect_error error-csv-and-json 'exclude' "$M" -x , --json
if [ ! -e /sys/module/mapex ]; then
	expect_error error-status-not-loaded 'not loaded' "$M" --status
fi

# ---- module loaded ---------------------------------------------------------
if [ ! -e /sys/module/mapex ]; then
	if insmod "$KO"; then
		loaded_here=1
	else
		fail insmod "cannot load $KO"
		exit 1
	fi
fi

# ---- --status: what is guarded, read from sysfs, no root needed ------------
ver=$(cat /sys/kernel/mapex/version)
if "$M" --status > "$TMP/status" 2> "$TMP/err"; then
	sed 's/^/# /' "$TMP/status" | head -n 12
	fsys=$(ls /sys/kernel/mapex/fs | sort | tr '\n' ' ')
	want=""
	for f in $fsys; do
		want+="$f $(cat /sys/kernel/mapex/fs/$f/enabled) $(cat /sys/kernel/mapex/fs/$f/guarded)|"
	done
	got=$(awk '/^FS /{t=1; next} t && NF==0 {exit} t {printf "%s|", $0}' "$TMP/status" |
		sed 's/  */ /g')
	if grep -q "^mapex module $ver, mapexstat $ver\$" "$TMP/status" &&
	   [ "$got" = "$want" ]; then
		pass status-matches-sysfs
	else
		fail status-matches-sysfs "got '$got', want '$want'"
	fi
else
	fail status-matches-sysfs "exit $?: $(head -c 200 "$TMP/err")"
fi
if command -v setpriv >/dev/null &&
   setpriv --reuid=65534 --regid=65534 --clear-groups "$M" --status > /dev/null 2>&1; then
	pass status-without-root
else
	fail status-without-root "--status failed as nobody"
fi
if "$M" --status --json > "$TMP/status.json" 2> "$TMP/err"; then
	json_check status-json "$TMP/status.json" \
		'd["module_version"] == d["tool_version"] and not d["version_mismatch"] and all(f["guarded"] and "unguarded" in f for f in d["filesystems"])'
else
	fail status-json "$(head -c 200 "$TMP/err")"
fi
# With -i, a change is reported as it happens: here the guarded state of
# the filesystem under test, toggled through enabled.  (A moving unguarded
# count takes the same path, but no operation is known to make one.)
fs=${MAPEX_FS:-ext4}
"$M" --status -i 1 -d 6 > "$TMP/status-i" 2>&1 &
spid=$!
sleep 1.5
echo 0 > /sys/kernel/mapex/fs/$fs/enabled
sleep 1.5
echo 1 > /sys/kernel/mapex/fs/$fs/enabled
wait $spid
if grep -q "^$fs: guarded: no: disabled (enabled is 0) (was: yes)" "$TMP/status-i" &&
   grep -q "^$fs: guarded: yes (was: no: disabled" "$TMP/status-i"; then
	pass status-interval-reports-changes
else
	fail status-interval-reports-changes "$(head -c 300 "$TMP/status-i")"
fi

events=/sys/kernel/tracing/events/mapex
missing=""
for e in contention_begin contention_end acquire release refused unguarded; do
	[ -e "$events/mapex_$e/format" ] || missing="$missing mapex_$e"
done
if [ -z "$missing" ]; then pass tracefs-events; else fail tracefs-events "missing:$missing"; fi

if command -v perf >/dev/null; then
	if perf record -q -e 'mapex:*' -o "$TMP/perf.data" -- true 2> "$TMP/err"; then
		pass perf-record
	else
		fail perf-record "$(head -c 200 "$TMP/err")"
	fi
else
	skip perf-record "no perf"
fi

if command -v setpriv >/dev/null; then
	expect_error error-not-root 'must be run as root' \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$M" -d 1
else
	expect_error error-not-root 'must be run as root' \
		su nobody -s /bin/sh -c "$M -d 1"
fi

# Zero entries still make valid JSON.
if "$M" --json -d 1 > "$TMP/empty.json" 2> "$TMP/err" &&
   python3 -m json.tool "$TMP/empty.json" > /dev/null; then
	json_check json-empty "$TMP/empty.json" 'd["source"] == "loaded" and isinstance(d["entries"], list)'
else
	fail json-empty "$(head -c 300 "$TMP/err" "$TMP/empty.json")"
fi

# ---- pinned collection ------------------------------------------------------
"$M" --unpin >/dev/null 2>&1
if "$M" --pin -o -s 16 -U 8 -L > "$TMP/out" 2> "$TMP/err" && [ -e "$PIN/mapex_stats" ] &&
   [ -e "$PIN/mapex_end_link" ]; then
	pass pin
else
	fail pin "$(cat "$TMP/err")"
fi
before=$(ls "$PIN" 2>/dev/null)
"$M" --pin > /dev/null 2> "$TMP/err"
rc=$?
if [ $rc != 0 ] && grep -q 'already pinned' "$TMP/err" && [ "$(ls "$PIN")" = "$before" ]; then
	pass pin-twice-refused
else
	fail pin-twice-refused "exit $rc: $(cat "$TMP/err")"
fi
expect_error error-pid-on-pinned 'pinned' "$M" -p 1
expect_error error-comm-on-pinned 'pinned' "$M" --comm mx-writer

# ---- forced conflicts --------------------------------------------------------
if [ "${MAPEX_FS:-none}" = none ]; then
	skip conflict "no scratch filesystem (vm-run --fs none)"
	"$M" --unpin > /dev/null
	exit $failed
fi
# ---- acquire/release events: fired with the operation's fields ------------
tr=/sys/kernel/tracing
tf=/mnt/scratch/mapexstat-trace.dat
xfs_io -f -c "pwrite 0 64k" -c fsync "$tf" > /dev/null
tino=$(stat -c %i "$tf")
echo > "$tr/trace"
echo 1 > "$events/mapex_acquire/enable" && echo 1 > "$events/mapex_release/enable"
xfs_io -d -c "pread 8k 4k" "$tf" > /dev/null
xfs_io -c "pwrite 16k 4k" "$tf" > /dev/null
echo 0 > "$events/mapex_acquire/enable"; echo 0 > "$events/mapex_release/enable"
cp "$tr/trace" "$TMP/trace"
# mapex_release also names the taker and how long it held (both were
# granted while the event was on, so neither may read 0).
taker=" pid [1-9][0-9]* tid [1-9][0-9]* held [1-9][0-9]* ns"
for ev in acquire release; do
	tail=""
	[ $ev = release ] && tail=$taker
	if grep -qE "mapex_$ev: dev [0-9]+:[0-9]+ ino $tino range 8192-12288 mode direct_read op read$tail$" "$TMP/trace" &&
	   grep -qE "mapex_$ev: dev [0-9]+:[0-9]+ ino $tino range 16384-20480 mode buffered op write$tail$" "$TMP/trace"; then
		pass "trace-$ev-fields"
	else
		fail "trace-$ev-fields" "$(grep "ino $tino " "$TMP/trace" | head -c 400)"
	fi
done

# Frame pointers: -U walks user stacks by them (docs/mapexstat.md), so
# through the workload's own code the stack must go past libc's pwrite.
if ! cc -O2 -fno-omit-frame-pointer -Wall -pthread -o "$TMP/conflict" tests/vm/mapexstat-conflict.c 2> "$TMP/err"; then
	fail conflict-build "$(head -c 300 "$TMP/err")"
	exit 1
fi
file=/mnt/scratch/mapexstat-conflict.dat
# The workload stays alive (HOLD) while mapexstat reads the holder's comm.
"$TMP/conflict" "$file" "$ROUNDS" 300 > "$TMP/out" 2> "$TMP/err" &
cpid=$!
for _ in $(seq 1200); do
	grep -q '^rounds' "$TMP/out" 2>/dev/null && break
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
read -r _ _ _ blocked _ wpid _ rpid _ rtid < "$TMP/out"
if [ "${blocked:-}" = "$ROUNDS" ]; then
	pass "conflict-workload $(cat "$TMP/out")"
else
	fail conflict-workload "$(cat "$TMP/out" "$TMP/err" | head -c 300)"
fi
ino=$(stat -c %i "$file")

"$M" --json --inode "$file" -o -s 16 -U 8 > "$TMP/pinned.json" 2> "$TMP/err"
"$M" -T -o -s 16 -U 8 > "$TMP/table-o" 2>> "$TMP/err"
"$M" -x , -o -s 16 -U 8 --inode "$file" > "$TMP/pinned.csv" 2>> "$TMP/err"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
if python3 -m json.tool "$TMP/pinned.json" > /dev/null 2>&1; then
	pass json-parses
else
	fail json-parses "$(head -c 300 "$TMP/err" "$TMP/pinned.json")"
fi
json_check pinned-contended "$TMP/pinned.json" \
	"sum(e['contended'] for e in d['entries'] if e['ino'] == $ino and pair(e, 'direct_write', 'buffered')) >= $ROUNDS"
# Who waited on whom: the writer process behind the reader thread, never
# the other way round.
json_check attribution "$TMP/pinned.json" \
	"any(e['ino'] == $ino and pair(e, 'direct_write', 'buffered') and e['comm'] == 'mx-writer' and e['pid'] == ${wpid:-0} and e['holder_comm'] == 'mx-reader' and e['holder_pid'] == ${rpid:-0} and e['holder_tid'] == ${rtid:-0} for e in d['entries'])"
json_check attribution-direction "$TMP/pinned.json" \
	"all(e['comm'] == 'mx-writer' and e['holder_comm'] in ('mx-reader', None) for e in d['entries'] if e['ino'] == $ino)"
# -L: every direct write of the workload was held (and timed) once at least.
json_check hold-times "$TMP/pinned.json" \
	"sum(h['count'] for h in d['holds'] if h['ino'] == $ino and h['mode'] == 'direct_write') >= $ROUNDS and any(h['ino'] == $ino and h['mode'] == 'buffered' and h['count'] >= $ROUNDS for h in d['holds']) and all(h['count'] == sum(s['count'] for s in h['slots']) > 0 for h in d['holds']) and d['counters']['hold_drops'] == 0"
json_check waiter-stack "$TMP/pinned.json" \
	"any(e['comm'] == 'mx-writer' and e['stack_id'] is not None and any(re.match(r'\w+(_file_write_iter|_write_iter_wrap)\+0x[0-9a-f]+', f) for f in e['stack']) for e in d['entries'])"
# -U: the writer's user stack, its innermost frame in a file it maps (the
# pwrite in libc, or the workload itself), as "function+0xoff
# (file+0xoffset)", or file+0xoffset where no symbol covers it; that
# frame is the system call in libc's pwrite, named from libc's symbols.
json_check waiter-user-stack "$TMP/pinned.json" \
	"any(e['comm'] == 'mx-writer' and e['user_stack_id'] is not None and e['user_stack'] and re.match(r'(\S+\+0x[0-9a-f]+ \()?/\S+\+0x[0-9a-f]+\)?$', e['user_stack'][0]) for e in d['entries'])"
json_check waiter-user-stack-symbol "$TMP/pinned.json" \
	"any(e['comm'] == 'mx-writer' and e['user_stack'] and re.match(r'\w*pwrite\w*\+0x[0-9a-f]+ \(/\S+libc\S*\+0x[0-9a-f]+\)$', e['user_stack'][0]) for e in d['entries'])"
# libc's pwrite keeps no frame, so the walk skips its caller (writer(),
# whose return address is only on the stack) and goes on from writer()'s
# frame: the return into main, in the workload's own file.
json_check waiter-user-stack-frame-pointers "$TMP/pinned.json" \
	"any(e['comm'] == 'mx-writer' and e['user_stack'] and any(re.match(r'main\+0x[0-9a-f]+ \(/\S+/conflict\+0x[0-9a-f]+\)$', f) for f in e['user_stack'][1:]) for e in d['entries'])"
if grep -qE '^ +(\S+\+0x[0-9a-f]+ \()?/\S+\+0x[0-9a-f]+\)? \[user\]$' "$TMP/table-o"; then
	pass table-user-stack
else
	fail table-user-stack "$(grep -m 3 user "$TMP/table-o" | head -c 300)"
fi
if grep -qE '^# [0-9]{2}:[0-9]{2}:[0-9]{2}$' "$TMP/table-o" &&
   grep -qE " ${wpid:-x} mx-writer +${rtid:-x} +${rpid:-x} mx-reader " "$TMP/table-o"; then
	pass table-holders
else
	fail table-holders "$(head -c 600 "$TMP/table-o")"
fi
if python3 - "$TMP/pinned.csv" "${wpid:-0}" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows and all(r["comm"] == "mx-writer" and r["pid"] == sys.argv[2] for r in rows), rows[:3]
assert any(r["holder_comm"] == "mx-reader" and "write_iter" in r["stack"] for r in rows), rows[:3]
assert any("/" in r["user_stack"] and "+0x" in r["user_stack"] for r in rows), rows[:3]
EOF
then
	pass csv-parses
else
	fail csv-parses "$(head -c 400 "$TMP/pinned.csv")"
fi
json_check pinned-path "$TMP/pinned.json" \
	"all(e['path'] in (None, '$file') for e in d['entries'])"

# Histograms are per mode pair: compare with all inodes' counts for the pair.
"$M" --json > "$TMP/all.json" 2> "$TMP/err"
json_check pinned-histogram-sum "$TMP/all.json" \
	"sum(h['count'] for h in d['histograms'] if pair(h, 'direct_write', 'buffered')) == sum(e['contended'] for e in d['entries'] if pair(e, 'direct_write', 'buffered')) > 0 and all(h['count'] == sum(s['count'] for s in h['slots']) for h in d['histograms'])"
json_check pinned-counters "$TMP/all.json" \
	"d['counters']['end'] == sum(e['contended'] for e in d['entries']) and d['counters']['stat_drops'] == 0"

if "$M" -H > "$TMP/table" 2> "$TMP/err" &&
   grep -qE "direct_write->buffered +[0-9]+:[0-9]+:$ino " "$TMP/table" &&
   grep -q 'direct_write->buffered waits:' "$TMP/table"; then
	pass table
else
	fail table "$(head -c 400 "$TMP/table" "$TMP/err")"
fi

if bpftool map dump pinned "$PIN/mapex_stats" > "$TMP/dump" 2> "$TMP/err" &&
   grep -qE "\"ino\": $ino\b" "$TMP/dump" && grep -q '"total_ns"' "$TMP/dump" &&
   grep -q '"mode": "MAPEX_MODE_DIRECT_WRITE"' "$TMP/dump" &&
   grep -q '"holder_mode": "MAPEX_MODE_BUFFERED"' "$TMP/dump" &&
   grep -q '"last_op": "MAPEX_OP_WRITE"' "$TMP/dump" &&
   grep -qE '"stack_id": [0-9]+' "$TMP/dump"; then
	pass bpftool-dump
else
	fail bpftool-dump "$(head -c 300 "$TMP/err" "$TMP/dump")"
fi

# The module is pinned by the attached programs; --unpin releases it.
if "$M" --unpin 2> "$TMP/err" && [ ! -e "$PIN" ]; then
	pass unpin
else
	fail unpin "$(cat "$TMP/err")"
fi

# wait_attached ERR...: until each private mapexstat (stderr in ERR) traces.
wait_attached() {
	local e
	for e in "$@"; do
		for _ in $(seq 900); do
			grep -q tracing "$e" 2>/dev/null && break
			sleep 0.1
		done
	done
}
# in_cgroup DIR CMD...: run CMD as a member of cgroup DIR.
in_cgroup() {
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$@"
}
# stop_collectors NAME JSON ERR: SIGINT the private mapexstats in $bg; NAME
# passes if they all exit 0 and JSON parses.
stop_collectors() {
	local rc=0 b
	kill -INT $bg
	for b in $bg; do
		wait "$b" || rc=$?
	done
	bg=""
	if [ $rc = 0 ] && python3 -m json.tool "$2" > /dev/null 2>&1; then
		pass "$1"
	else
		fail "$1" "exit $rc: $(head -c 300 "$3" "$2")"
	fi
}
# ---- private (unpinned) collections with in-kernel filters -----------------
# Three at once over one run of the workload, in cgroup $CG: -t with the
# filters that match the writer, and --comm / --cgroup that match nothing.
CG=/sys/fs/cgroup/mapexstat-t.$$ CG2=/sys/fs/cgroup/mapexstat-t2.$$
if ! mountpoint -q /sys/fs/cgroup; then
	mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
fi
if ! mkdir "$CG" "$CG2" 2>/dev/null; then
	skip cgroup "no cgroup v2 at /sys/fs/cgroup"
	CG=/sys/fs/cgroup CG2=""
fi
"$M" --json --inode "$file" --mode direct_write -t -o --comm mx-writer \
	--cgroup "$CG" > "$TMP/own.json" 2> "$TMP/err" &
bg=$!
"$M" --json --comm mx-nobody > "$TMP/nocomm.json" 2> "$TMP/err2" &
bg="$bg $!"
if [ -n "$CG2" ]; then
	"$M" --json --cgroup "$CG2" > "$TMP/nocg.json" 2> "$TMP/err3" &
	bg="$bg $!"
fi
wait_attached "$TMP/err" "$TMP/err2" ${CG2:+"$TMP/err3"}
in_cgroup "$CG" "$TMP/conflict" "$file" "$ROUNDS" > "$TMP/out" 2>&1
read -r _ _ _ _ _ wpid _ < "$TMP/out"
ino=$(stat -c %i "$file")
stop_collectors own-json "$TMP/own.json" "$TMP/err"
json_check own-contended "$TMP/own.json" \
	"sum(e['contended'] for e in d['entries'] if e['ino'] == $ino and pair(e, 'direct_write', 'buffered')) >= $ROUNDS"
json_check own-histogram-sum "$TMP/own.json" \
	"sum(h['count'] for h in d['histograms']) == sum(e['contended'] for e in d['entries']) > 0"
json_check own-filtered "$TMP/own.json" \
	"all(e['ino'] == $ino and e['waiter'] == 'direct_write' for e in d['entries'])"
json_check per-thread "$TMP/own.json" \
	"d['entries'] and all(e['tid'] == e['pid'] == ${wpid:-0} and e['comm'] == 'mx-writer' and e['holder_tid'] is not None for e in d['entries'])"
json_check comm-filter "$TMP/nocomm.json" \
	"d['entries'] == [] and d['counters']['end'] == 0 and d['counters']['filtered'] >= $ROUNDS"
if [ -n "$CG2" ]; then
	json_check cgroup-filter "$TMP/nocg.json" \
		"d['entries'] == [] and d['counters']['end'] == 0 and d['counters']['filtered'] >= $ROUNDS"
fi

# ---- -L with --comm / --cgroup: holds released away from their taker -----
# fio's libaio direct writes end where their bios complete (an interrupt,
# a worker or the module's tasklet), mostly not in fio: the filters judge
# the taker at its grant, so every hold is kept or left out, none dropped.
AIO_IOS=256
af=/mnt/scratch/mapexstat-aio.dat
xfs_io -f -c "pwrite 0 $((AIO_IOS * 4))k" -c fsync "$af" > /dev/null
aino=$(stat -c %i "$af")
"$M" --json -L --inode "$af" --comm fio ${CG2:+--cgroup "$CG"} \
	> "$TMP/aio-own.json" 2> "$TMP/err" &
bg=$!
"$M" --json -L --inode "$af" --comm mx-nobody > "$TMP/aio-none.json" 2> "$TMP/err2" &
bg="$bg $!"
wait_attached "$TMP/err" "$TMP/err2"
in_cgroup "$CG" fio --name=mapexstat-aio --filename="$af" --ioengine=libaio \
	--iodepth=16 --direct=1 --rw=randwrite --bs=4k --size=$((AIO_IOS * 4))k \
	--invalidate=0 --output="$TMP/fio.out" > /dev/null 2>&1
stop_collectors aio-hold-json "$TMP/aio-own.json" "$TMP/err"
json_check aio-hold-kept "$TMP/aio-own.json" \
	"sum(h['count'] for h in d['holds'] if h['ino'] == $aino and h['mode'] == 'direct_write') == $AIO_IOS and d['counters']['hold_drops'] == 0"
json_check aio-hold-left-out "$TMP/aio-none.json" \
	"d['holds'] == [] and d['counters']['hold_drops'] == 0"

if [ "$loaded_here" = 1 ]; then
	if rmmod mapex; then
		loaded_here=0
		pass rmmod-after-unpin
	else
		fail rmmod-after-unpin "mapex still in use"
	fi
fi
exit $failed
