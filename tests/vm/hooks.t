#!/bin/bash
# tests/vm/hooks.t - hook lifecycle inside the VM: a filesystem module loaded
# after mapex gets hooked (module notifier) and unhooked when it goes; the
# checkpoints stay quiet for guarded operations (reflink included) and count
# an unguarded one (xfs swapext, which no entry point hook covers); ftrace_enabled=0 is
# refused while the hooks are PERMANENT; another IPMODIFY user on a hooked
# function (tests/modules/ipmodify_squatter, standing in for livepatch)
# makes the load fail cleanly.
set -uo pipefail
ok() { echo "PASS: hooks/$1"; }
bad() { echo "FAIL: hooks/$1 ${2:-}"; }
stat_of() {	# FS MODE COLUMN -> value from /sys/kernel/mapex/fs/FS/stats
	awk -v m="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == m { print $(col[c]) }' "/sys/kernel/mapex/fs/$1/stats"
}

insmod "$MAPEX_KO" || { bad insmod; exit 1; }
trap 'umount /tmp/hp 2>/dev/null; rmmod mapex 2>/dev/null' EXIT

# 1. A filesystem whose module is not loaded yet.
late=""
for fs in btrfs xfs ext4; do
	[ -d "/sys/module/$fs" ] || { late=$fs; break; }
done
if [ -z "$late" ]; then
	echo "SKIP: hooks/late-module every filesystem module already loaded"
else
	modprobe loop 2>/dev/null
	modprobe -q crc32c_generic 2>/dev/null
	img=/tmp/late.img
	truncate -s 400M "$img"
	mkfs."$late" -q "$img" >/dev/null 2>&1 || mkfs."$late" -f -q "$img" >/dev/null 2>&1
	mkdir -p /tmp/hp
	if mount -o loop -t "$late" "$img" /tmp/hp; then
		dmesg | grep -q "mapex: $late: hooked on module load" &&
			ok "late-module-$late-hooked" || bad "late-module-$late-hooked" "no 'hooked on module load' line"
		before=$(stat_of "$late" buffered acquired)
		xfs_io -f -c "pwrite 0 256k" -c "pread 0 256k" /tmp/hp/f >/dev/null
		after=$(stat_of "$late" buffered acquired)
		[ "$after" -gt "$before" ] && ok "late-module-$late-guarded" ||
			bad "late-module-$late-guarded" "buffered acquired $before -> $after"
		umount /tmp/hp
		if modprobe -r "$late" 2>/dev/null; then
			ok "late-module-$late-unloads"
		else
			bad "late-module-$late-unloads" "modprobe -r $late failed"
		fi
	else
		bad "late-module-$late-mount" "cannot mount $late on loop"
	fi
fi

# 2. Checkpoints: guarded operations are not counted as unguarded.
f=/mnt/scratch/hooks-cp
xfs_io -f -c "pwrite 0 1m" -c "fsync" -c "fpunch 64k 64k" -c "fzero 256k 64k" \
	-c "truncate 512k" -d -c "pwrite 0 64k" "$f" >/dev/null
xfs_io -d -c "pwrite 0 64k" -c "pread 0 64k" "$f" >/dev/null
for m in inval direct_read direct_write; do
	u=$(stat_of "$MAPEX_FS" "$m" unguarded)
	a=$(stat_of "$MAPEX_FS" "$m" acquired)
	[ "$u" = 0 ] && [ "${a:-0}" -gt 0 ] && ok "checkpoint-quiet-$m" ||
		bad "checkpoint-quiet-$m" "acquired $m = $a, unguarded $m = $u"
done

# 3. An operation that no hooked entry point covers reaches a checkpoint
#    (xfs swapext: XFS_IOC_SWAPEXT drops both files' cache), and reflink,
#    which ->remap_file_range now guards, does not.
if [ "$MAPEX_FS" = xfs ]; then
	xfs_io -f -c "pwrite 0 256k" "$f.src" >/dev/null
	before=$(stat_of xfs inval unguarded)
	acq=$(stat_of xfs inval acquired)
	if xfs_io -c "reflink $f.src 0 0 128k" "$f" >/dev/null 2>&1; then
		after=$(stat_of xfs inval unguarded)
		acq2=$(stat_of xfs inval acquired)
		[ "$after" = "$before" ] && [ "$acq2" -gt "$acq" ] && ok checkpoint-quiet-reflink ||
			bad checkpoint-quiet-reflink "inval unguarded $before -> $after, acquired $acq -> $acq2"
	else
		echo "SKIP: hooks/checkpoint-quiet-reflink reflink unsupported"
	fi
	xfs_io -f -c "pwrite -S 0x61 0 256k" -c fsync "$f.sa" >/dev/null
	xfs_io -f -c "pwrite -S 0x62 0 256k" -c fsync "$f.sb" >/dev/null
	before=$(stat_of xfs inval unguarded)
	if xfs_io -c "swapext $f.sb" "$f.sa" >/dev/null 2>&1; then
		after=$(stat_of xfs inval unguarded)
		[ "$after" -gt "$before" ] && ok checkpoint-counts-swapext ||
			bad checkpoint-counts-swapext "inval unguarded $before -> $after"
	else
		echo "SKIP: hooks/checkpoint-counts-swapext swapext unsupported"
	fi
fi

# 4. PERMANENT hooks: ftrace cannot be switched off under them.
if sysctl -qw kernel.ftrace_enabled=0 2>/dev/null; then
	sysctl -qw kernel.ftrace_enabled=1
	bad ftrace-enabled-refused "kernel.ftrace_enabled=0 was accepted"
else
	[ "$(sysctl -n kernel.ftrace_enabled)" = 1 ] && ok ftrace-enabled-refused ||
		bad ftrace-enabled-refused "ftrace_enabled changed"
fi

rmmod mapex && ok rmmod || bad rmmod
trap - EXIT

# 5. Another IPMODIFY user (livepatch) on a hooked function: the load fails,
#    names the function, and leaves nothing installed.
squatter=build/$(uname -r)/tests/modules/ipmodify_squatter/ipmodify_squatter.ko
victim=${MAPEX_FS}_file_read_iter
[ "$MAPEX_FS" = xfs ] && victim=xfs_file_read_iter
if [ "$MAPEX_FS" = none ] || ! insmod "$squatter" symbol="$victim"; then
	echo "SKIP: hooks/ipmodify-busy cannot hold $victim"
else
	dmesg -C
	if insmod "$MAPEX_KO" 2>/dev/null; then
		rmmod mapex
		bad ipmodify-busy-refused "mapex loaded while $victim was taken"
	else
		dmesg | grep -q "mapex: cannot hook $victim: -16" &&
			ok ipmodify-busy-names-function ||
			bad ipmodify-busy-names-function "$(dmesg | grep mapex | tail -n 2 | tr '\n' ' ')"
		[ ! -e /sys/kernel/mapex ] && ok ipmodify-busy-no-sysfs ||
			bad ipmodify-busy-no-sysfs "/sys/kernel/mapex left behind"
	fi
	rmmod ipmodify_squatter
	# Nothing of mapex is left on filemap_fault: another user can take it.
	if insmod "$squatter" symbol=filemap_fault; then
		rmmod ipmodify_squatter && ok ipmodify-busy-nothing-left
	else
		bad ipmodify-busy-nothing-left "filemap_fault still taken"
	fi
	insmod "$MAPEX_KO" && rmmod mapex && ok ipmodify-reload || bad ipmodify-reload
fi
