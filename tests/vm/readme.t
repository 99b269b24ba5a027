#!/bin/bash
# tests/vm/readme.t - the README's "Using it" block, run as written inside
# the VM (tests/vm/run-all): every line but the `make` line, which make
# check runs on the host.  A line that fails fails the test with its text.
# The block names the 6.1 module path: it runs on 6.1, once (ext4).
set -uo pipefail
cd "${MAPEX_PROJ:-$(dirname "$0")/../..}" || exit 2
if [ "$(uname -r)" != 6.1.0-56-amd64 ] || [ "${MAPEX_FS:-ext4}" != ext4 ]; then
	echo "SKIP: readme/using-it runs on 6.1 ext4 (the block names that module)"
	exit 0
fi
block=$(awk '/^## Using it/ { s = 1 } s && /^```sh/ { b = 1; next }
	b && /^```/ { exit } b { print }' README.md)
[ -n "$block" ] || { echo "FAIL: readme/using-it no sh block under 'Using it'"; exit 1; }
# A writable directory that looks like the checkout (perf record writes
# perf.data where it runs; the project is read-only in the VM).
proj=$(pwd)
work=$(mktemp -d /tmp/readme.XXXXXX)
ln -s "$proj/build" "$proj/tools" "$work/"
cd "$work" || exit 2
n=0 failed=0
while IFS= read -r line; do
	case $line in ''|make\ *) continue ;; esac
	n=$((n + 1))
	cmd=${line%%  #*}	# the comment after two blanks
	if out=$(bash -c "$cmd" 2>&1 < /dev/null | tr -d '\0'); then
		:
	else
		echo "FAIL: readme/using-it line $n: $cmd: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
		failed=1
	fi
done <<< "$block"
[ -e /sys/module/mapex ] && { echo "FAIL: readme/using-it mapex still loaded after the block"; rmmod mapex; failed=1; }
[ $failed = 0 ] && echo "PASS: readme/using-it ($n commands)"
exit 0
