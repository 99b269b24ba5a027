#!/bin/bash
# tests/harness/kcsan-filter.sh - tests of scripts/kcsan-filter, run on the
# host: a KCSAN report whose title names a project module stays in the log
# (and fails a VM run), one between two of the kernel's own functions goes
# to --foreign, and KASAN reports and other lines pass untouched.
# Usage: tests/harness/kcsan-filter.sh
set -uo pipefail
proj=$(cd "$(dirname "$0")/../.." && pwd)
t=harness/kcsan-filter
ok() { echo "PASS: $t/$1"; }
bad() { echo "FAIL: $t/$1 ${2:-}"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sep='[   12.000000] =================================================================='

# report TITLE-FUNCS TOP-FRAME: one KCSAN report in the 6.1 layout.
report() {
	cat <<EOF
$sep
[   12.000001] BUG: KCSAN: data-race in $1

[   12.000002] write to 0xffff888004a1c2d0 of 8 bytes by task 81 on cpu 1:
[   12.000003]  $2
[   12.000004]  mapex_write_iter_wrap+0x1d4/0x2c0 [mapex]
[   12.000005]  vfs_write+0x3a1/0x5e0

[   12.000006] read to 0xffff888004a1c2d0 of 8 bytes by task 82 on cpu 0:
[   12.000007]  filemap_read+0x12c/0x620

[   12.000008] Reported by Kernel Concurrency Sanitizer on:
[   12.000009] CPU: 0 PID: 82 Comm: reader Not tainted 6.1.192-mapex-kcsan #1
$sep
EOF
}

# mklog yes|no: a log with (or without) the kernel's own race among the rest.
mklog() {
	echo '[    1.000000] Linux version 6.1.192-mapex-kcsan'
	[ "$1" = yes ] &&
		report 'ext4_buffered_write_iter / filemap_read' 'ext4_buffered_write_iter+0x88/0x2a0'
	echo '[   13.000000] between the reports'
	report 'mapex_hold_register [mapex] / filemap_read' 'mapex_hold_register+0x40/0x90 [mapex]'
	echo "$sep"
	echo '[   14.000001] BUG: KASAN: use-after-free in ext4_da_write_end'
	echo "$sep"
	echo "$sep"
	echo '[   15.000000] the line after a lone separator'
}
mklog yes > "$tmp/log"
mklog no > "$tmp/expected"

"$proj/scripts/kcsan-filter" --foreign "$tmp/foreign" < "$tmp/log" > "$tmp/out"
rc=$?
[ $rc = 0 ] && ok exit-0 || bad exit-0 "rc=$rc"

if [ "$(grep -c 'BUG: KCSAN' "$tmp/foreign" 2>/dev/null)" = 1 ] &&
   grep -q 'data-race in ext4_buffered_write_iter / filemap_read' "$tmp/foreign" &&
   ! grep -q 'ext4_buffered_write_iter' "$tmp/out"; then
	ok kernel-race-cut
else
	bad kernel-race-cut "$(head -c 300 "$tmp/foreign" 2>/dev/null)"
fi
if grep -q 'data-race in mapex_hold_register \[mapex\]' "$tmp/out" &&
   grep -q 'mapex_hold_register+0x40/0x90 \[mapex\]' "$tmp/out"; then
	ok project-race-kept
else
	bad project-race-kept "$(head -c 300 "$tmp/out")"
fi
# What the filter keeps is the log without the cut report, byte for byte.
if diff "$tmp/expected" "$tmp/out" > "$tmp/diff"; then
	ok rest-untouched
else
	bad rest-untouched "$(head -c 300 "$tmp/diff")"
fi
# vm-run's alarm pattern then sees the project's race and the KASAN report.
bad_re=$(sed -n "s/^bad='\(.*\)'$/\1/p" "$proj/scripts/vm-run")
if [ -n "$bad_re" ] && [ "$(grep -cE "$bad_re" "$tmp/out")" = 2 ] &&
   ! grep -qE "$bad_re" < <(grep -v KCSAN "$tmp/foreign"; echo); then
	ok alarms-after-filter
else
	bad alarms-after-filter "pattern '${bad_re:0:40}...': $(grep -E "$bad_re" "$tmp/out" | head -c 300)"
fi
"$proj/scripts/kcsan-filter" --bogus < /dev/null > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "unknown argument '--bogus'" "$tmp/err" && ok bad-usage ||
	bad bad-usage "rc=$rc $(cat "$tmp/err")"
