#!/bin/bash
# tests/harness/vm-run.sh - tests of scripts/vm-run itself, run on the host:
# exit status propagation, kernel WARNING detection, timeout, the retried
# boots (a kernel that dies or reports a fault before the command), and, on
# the KCSAN kernel when it is built, a data race in a project module that
# fails the run.  The filesystem vm-run mounts is checked by
# tests/vm/run-all, and mapex loading on it by tests/vm/hooks.t.
# Each check boots its own VMs, side by side with the others (a VM here is
# mostly its boot, and one waits out a timeout): 60 s on 6.1 where one
# after the other took about 150 s.  The results print in the order of the
# checks below.
# Usage: tests/harness/vm-run.sh KERNEL
set -uo pipefail
proj=$(cd "$(dirname "$0")/../.." && pwd)
kernel=${1:-6.1}
release=$("$proj/scripts/kver" "$kernel") || exit 2
# One vCPU each: the VMs run side by side on the host's CPUs (the KCSAN
# check keeps two, for its racing threads).
vm() { "$proj/scripts/vm-run" --kernel "$kernel" --cpus 1 "$@"; }
t=harness/$kernel
ok() { echo "PASS: $t/$1"; }
bad() { echo "FAIL: $t/$1 ${2:-}"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Each check keeps vm-run's stderr in its own $errf.
# vm-run's verdict from its stderr in $errf: why it failed, on one line.
why() { grep -a -A1 '^vm-run: FAILED: ' "$errf" | head -n 2 | tr '\n' ' '; }

check_exit_status() {
	local out rc
	out=$(vm --fs none -- uname -r 2>"$errf")
	rc=$?
	[ $rc = 0 ] && ok exit-0 || bad exit-0 "rc=$rc $(why)"
	[ "$out" = "$release" ] && ok uname || bad uname "got '$out', want '$release'"
	vm --fs none -- sh -c 'exit 3' 2>/dev/null
	rc=$?; [ $rc = 3 ] && ok exit-3 || bad exit-3 "rc=$rc"
}

# A WARNING fails the run although the command succeeded, and vm-run
# quotes the kernel's report itself (RIP, trace) for CI logs.
check_warning() {
	local warn_ko=$proj/build/$release/tests/modules/warn_on_load/warn_on_load.ko err rc
	err=$(vm --fs none -- sh -c "insmod $warn_ko && echo loaded" 2>&1)
	rc=$?
	if [ $rc != 0 ] && grep -q 'FAILED: kernel log reports' <<<"$err" && grep -q '^loaded' <<<"$err" &&
	   grep -q '^| .*WARNING: .*warn_on_load' <<<"$err" && grep -q '^| .*RIP: ' <<<"$err"; then
		ok warn-fails-run
	else
		bad warn-fails-run "rc=$rc: $(tail -n 3 <<<"$err" | tr '\n' ' ')"
	fi
}

check_timeout() {
	local start=$SECONDS err rc
	err=$(vm --fs none --timeout 20 -- sleep 600 2>&1)
	rc=$?
	if [ $rc = 124 ] && grep -q 'timed out after 20s' <<<"$err" && [ $((SECONDS - start)) -lt 60 ]; then
		ok timeout-kills
	else
		bad timeout-kills "rc=$rc after $((SECONDS - start))s"
	fi
}

# A kernel that dies before the command starts is booted once more, and
# the retry is reported; the command's own result stands.
check_retry_death() {
	local out rc
	out=$(MAPEX_VM_TEST_DIE_ONCE=1 vm --fs none -- echo second-boot 2>"$errf")
	rc=$?
	if [ $rc = 0 ] && grep -q '^RETRY: .*before the command started.*Kernel panic' <<<"$out" &&
	   [ "$(tail -n 1 <<<"$out")" = second-boot ]; then
		ok retry-death-before-command
	else
		bad retry-death-before-command "rc=$rc out=$(tr '\n' ' ' <<<"$out") $(why)"
	fi
}

# A kernel that reports a fault before the command starts does not run
# it; vm-run boots once more and the command runs once, on the clean boot.
check_retry_alarm() {
	local out rc
	out=$(MAPEX_VM_TEST_ALARM_ONCE=1 vm --fs none -- echo second-boot 2>"$errf")
	rc=$?
	if [ $rc = 0 ] && grep -q '^RETRY: .*alarm before the command started.*WARNING: vm-run harness test' <<<"$out" &&
	   [ "$(grep -c '^second-boot$' <<<"$out")" = 1 ] && [ "$(tail -n 1 <<<"$out")" = second-boot ]; then
		ok retry-alarm-before-command
	else
		bad retry-alarm-before-command "rc=$rc out=$(tr '\n' ' ' <<<"$out") $(why)"
	fi
}

# On the KCSAN kernel, a data race in a project module fails the run with
# the report, although the command succeeded (tests/modules/race_on_load;
# scripts/kcsan-filter keeps such reports).  Needs that kernel, which
# `make check-kcsan` builds (about 45 minutes): skipped without it.
check_kcsan() {
	local kc race_ko err rc
	if ! kc=$("$proj/scripts/kver" debug-kcsan 2>/dev/null); then
		echo "SKIP: $t/kcsan-project-race-fails no KCSAN kernel (make check-kcsan builds it)"
		return
	fi
	race_ko=$proj/build/$kc/tests/modules/race_on_load/race_on_load.ko
	[ -e "$race_ko" ] ||
		(cd "$proj" && scripts/build-module "$kc" tests/modules/race_on_load) > "$errf" 2>&1 ||
		bad kcsan-build-race-module "$(tail -n 3 "$errf" | tr '\n' ' ')"
	err=$("$proj/scripts/vm-run" --kernel debug-kcsan --fs none -- \
		sh -c "insmod $race_ko && echo loaded" 2>&1)
	rc=$?
	if [ $rc != 0 ] && grep -q '^loaded' <<<"$err" &&
	   grep -q 'FAILED: kernel log reports' <<<"$err" &&
	   grep -q 'BUG: KCSAN: data-race in race_on_load_.* \[race_on_load\]' <<<"$err"; then
		ok kcsan-project-race-fails
	else
		bad kcsan-project-race-fails "rc=$rc: $(tail -n 3 <<<"$err" | tr '\n' ' ')"
	fi
}

checks=(check_exit_status check_warning check_timeout check_retry_death
	check_retry_alarm check_kcsan)
pids=()
for c in "${checks[@]}"; do
	errf=$tmp/$c.err "$c" > "$tmp/$c.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
for c in "${checks[@]}"; do cat "$tmp/$c.out"; done
