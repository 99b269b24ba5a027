#!/bin/bash
# tests/vm/hooks.t - hook lifecycle inside the VM: a filesystem module loaded
# after mapex gets hooked (module notifier) and unhooked when it goes; the
# checkpoints stay quiet for guarded operations, and reflink, swapext,
# exchange-range, move_ext and defrag take their ranges; ftrace_enabled=0 is
# refused while the hooks are PERMANENT; another IPMODIFY user on a hooked
# function (tests/modules/ipmodify_squatter, standing in for livepatch)
# makes the load fail cleanly; the status files (hooks, guarded, enabled,
# disabled=) say what is installed (sealed or not), partial, off or
# failed, also as on a CPU that enforces IBT (test_assume_ibt=1).
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

# 3. Operations that move extents or rewrite ranges under the page cache
#    take their ranges and leave no checkpoint counting: reflink
#    (->remap_file_range), xfs swapext and exchange-range, ext4 move_ext
#    (what e4defrag does), btrfs defrag: each hooked in the function that
#    does the ioctl's work, under its freeze protection.  (A truncate that reaches
#    truncate_pagecache without a range is counted: interpose.t, seal.)
# guarded_op NAME MODE CMD...: CMD succeeds, MODE acquired moves, no
# unguarded count moves; SKIP when CMD says the operation is unsupported.
guarded_op() {
	local name=$1 mode=$2 acq u m out
	shift 2
	acq=$(stat_of "$MAPEX_FS" "$mode" acquired)
	u=""
	for m in fault buffered direct_read direct_write inval; do
		u+="$(stat_of "$MAPEX_FS" "$m" unguarded) "
	done
	if ! out=$("$@" 2>&1); then
		if grep -qiE "not supported|inappropriate ioctl|unknown command|not found" <<<"$out"; then
			echo "SKIP: hooks/$name unsupported here: $(tail -n 1 <<<"$out")"
		else
			bad "$name" "$* failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
		fi
		return
	fi
	local acq2 u2=""
	acq2=$(stat_of "$MAPEX_FS" "$mode" acquired)
	for m in fault buffered direct_read direct_write inval; do
		u2+="$(stat_of "$MAPEX_FS" "$m" unguarded) "
	done
	[ "$acq2" -gt "$acq" ] && [ "$u2" = "$u" ] && ok "$name" ||
		bad "$name" "$mode acquired $acq -> $acq2, unguarded $u-> $u2"
}
xfs_io -f -c "pwrite -S 0x61 0 256k" -c fsync "$f.sa" >/dev/null
xfs_io -f -c "pwrite -S 0x62 0 256k" -c fsync "$f.sb" >/dev/null
case $MAPEX_FS in
xfs)
	guarded_op guarded-reflink inval xfs_io -c "reflink $f.sa 0 0 128k" "$f"
	guarded_op guarded-swapext inval xfs_io -c "swapext $f.sb" "$f.sa"
	# xfs_exchrange_contents (6.10 on) takes both ranges before xfs
	# checks the exchange-range feature, which Debian 12's mkfs.xfs
	# cannot set: the call then fails, but the wrapper has run.
	hooks=/sys/kernel/mapex/fs/xfs/hooks
	if grep -Eq '^xfs_exchrange_contents +entry +installed(:sealed)?$' "$hooks"; then
		acq=$(stat_of xfs inval acquired)
		out=$(tests/vm/progs/mxio exchange-range "$f.sa" "$f.sb" 2>&1)
		acq2=$(stat_of xfs inval acquired)
		grep -qE 'exchanged|not supported' <<<"$out" &&
			[ "$acq2" -ge $((acq + 2)) ] && ok guarded-exchange-range ||
			bad guarded-exchange-range "inval acquired $acq -> $acq2: $out"
	elif grep -Eq '^xfs_exchrange_contents +entry +absent$' "$hooks" &&
		! tests/vm/progs/mxio exchange-range "$f.sa" "$f.sb" >/dev/null 2>&1; then
		ok guarded-exchange-range-absent	# no such ioctl on this kernel
	else
		bad guarded-exchange-range "$(grep exchrange "$hooks")"
	fi
	;;
ext4)
	guarded_op guarded-move-ext inval tests/vm/progs/mxio move-ext "$f.sa" "$f.sb"
	;;
btrfs)
	guarded_op guarded-reflink inval xfs_io -c "reflink $f.sa 0 0 128k" "$f"
	xfs_io -c "pwrite -S 0x63 0 256k" "$f.sa" >/dev/null	# dirty: defrag work
	guarded_op guarded-defrag buffered btrfs filesystem defragment -f "$f.sa"
	;;
esac
# Splice and sendfile read through filemap_splice_read from 6.5 on (hooked:
# interpose.t's sendfile case sees its ranges), through ->read_iter before.
if grep -qw filemap_splice_read /proc/kallsyms; then want=installed; else want=absent; fi
grep -Eq "^filemap_splice_read +entry +$want\$" "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" &&
	ok "splice-read-$want" ||
	bad "splice-read-$want" "$(grep splice "/sys/kernel/mapex/fs/$MAPEX_FS/hooks")"
# A direct write's refused invalidation waits for IO to settle (0.6.5,
# module/settle.c): exported, so hookable under IBT too.
grep -Eq "^invalidate_inode_pages2_range +entry +installed\$" "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" &&
	ok "settle-installed" ||
	bad "settle-installed" "$(grep invalidate "/sys/kernel/mapex/fs/$MAPEX_FS/hooks")"

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

# 6. Status: "hooks" says what is installed, as ftrace's enabled_functions
#    does; "guarded" and "enabled" tell the truth when guarding is partial
#    (do_truncate held by another IPMODIFY user), off (disabled=) or
#    failed (a filesystem loaded after mapex whose hook another IPMODIFY
#    user holds), and as on a CPU that enforces IBT (test_assume_ibt=1).
ef=/sys/kernel/tracing/enabled_functions
hooks_match() {	# NAME FS: every installed hook is traced, nothing else is
	local sym state wrong=""
	while read -r sym _ state; do
		case $state in failed:*) continue ;; esac	# another user holds it
		if grep -q "^$sym " "$ef"; then
			[[ $state == installed* ]] || wrong+=" $sym($state, but traced)"
		else
			[[ $state != installed* ]] || wrong+=" $sym($state, not traced)"
		fi
	done < "/sys/kernel/mapex/fs/$2/hooks"
	[ -z "$wrong" ] && ok "$1" || bad "$1" "$wrong"
}
if [ "$MAPEX_FS" = none ]; then
	echo "SKIP: hooks/status needs a guarded filesystem"
else
	# do_truncate held by another IPMODIFY user: mapex loads without it
	# (an optional hook), and says so.
	if ! insmod "$squatter" symbol=do_truncate; then
		bad status-partial "cannot load the squatter"
	else
		insmod "$MAPEX_KO" || bad status-load
		g=$(cat "/sys/kernel/mapex/fs/$MAPEX_FS/guarded")
		echo "# guarded ($MAPEX_FS, do_truncate taken): $g"
		case $g in partial:*do_truncate*) ok status-partial-when-held ;;
			*) bad status-partial-when-held "$g" ;; esac
		grep -q "^do_truncate .* failed:-16$" "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" &&
			ok status-hooks-failed-optional ||
			bad status-hooks-failed-optional "$(grep do_truncate "/sys/kernel/mapex/fs/$MAPEX_FS/hooks")"
		hooks_match status-hooks-match-ftrace-held "$MAPEX_FS"
		rmmod mapex
		rmmod ipmodify_squatter
	fi
	# As on a CPU that enforces IBT: every hook whose ENDBR is sealed
	# (on a kernel built with IBT) goes in with its direct way back, and
	# none is left out.
	insmod "$MAPEX_KO" test_assume_ibt=1 || bad status-load-ibt
	sed 's/^/# /' "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" | grep -v ' installed$'
	g=$(cat "/sys/kernel/mapex/fs/$MAPEX_FS/guarded")
	left=$(grep -v ' installed\(:sealed\)\?$' "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" | grep -v ' absent$' | tr -s ' \n' ' ')
	[ "$g" = yes ] && [ -z "$left" ] && ok status-assume-ibt-all-installed ||
		bad status-assume-ibt-all-installed "guarded: $g; not installed: $left"
	if grep -qx CONFIG_X86_KERNEL_IBT=y "/boot/config-$(uname -r)" 2>/dev/null; then
		sealed=$(awk '$3 == "installed:sealed" { printf "%s ", $1 }' "/sys/kernel/mapex/fs/$MAPEX_FS/hooks")
		case " $sealed" in *" do_truncate "*) ok status-sealed-shown ;;
			*) bad status-sealed-shown "IBT kernel, but do_truncate not installed:sealed ($sealed)" ;; esac
	else
		! grep -q ':sealed$' "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" &&
			ok status-none-sealed-without-ibt ||
			bad status-none-sealed-without-ibt "$(grep ':sealed$' "/sys/kernel/mapex/fs/$MAPEX_FS/hooks" | tr '\n' ' ')"
	fi
	hooks_match status-hooks-match-ftrace-ibt "$MAPEX_FS"
	rmmod mapex
	insmod "$MAPEX_KO" disabled="$MAPEX_FS" || bad status-load-disabled
	sed 's/^/# /' "/sys/kernel/mapex/fs/$MAPEX_FS/hooks"
	hooks_match status-hooks-match-ftrace "$MAPEX_FS"
	[ "$(cat "/sys/kernel/mapex/fs/$MAPEX_FS/enabled")" = 0 ] &&
	[ "$(cat /sys/module/mapex/parameters/disabled)" = "$MAPEX_FS" ] &&
	[ "$(cat /sys/module/mapex/parameters/filesystems)" = "ext4,xfs,btrfs" ] &&
	grep -q "^no: disabled" "/sys/kernel/mapex/fs/$MAPEX_FS/guarded" &&
		ok status-disabled-at-load ||
		bad status-disabled-at-load "enabled=$(cat "/sys/kernel/mapex/fs/$MAPEX_FS/enabled") disabled=$(cat /sys/module/mapex/parameters/disabled) filesystems=$(cat /sys/module/mapex/parameters/filesystems)"
	echo 1 > "/sys/kernel/mapex/fs/$MAPEX_FS/enabled" &&
	[ "$(cat "/sys/kernel/mapex/fs/$MAPEX_FS/guarded")" = yes ] &&
		ok status-guarded-when-enabled ||
		bad status-guarded-when-enabled "$(cat "/sys/kernel/mapex/fs/$MAPEX_FS/guarded")"
	rmmod mapex
	dmesg -C
	if insmod "$MAPEX_KO" disabled=ext4,nosuchfs 2>/dev/null; then
		rmmod mapex; bad status-disabled-unknown "accepted disabled=nosuchfs"
	else
		dmesg | grep -q "mapex: disabled=: unknown filesystem 'nosuchfs'" &&
		[ ! -e /sys/kernel/mapex ] && ok status-disabled-unknown ||
			bad status-disabled-unknown "$(dmesg | grep mapex | tail -n 1)"
	fi
fi
case $late in
xfs|btrfs)
	victim=${late}_file_read_iter
	if ! insmod "$squatter" symbol="$victim" on_load="$late"; then
		bad status-failed-hook "cannot load the squatter"
	else
		insmod "$MAPEX_KO"
		modprobe "$late"
		hk=/sys/kernel/mapex/fs/$late
		sed 's/^/# /' "$hk/hooks"
		echo "# guarded ($late, $victim taken): $(cat "$hk/guarded")"
		grep -q "^$victim .* failed:-16$" "$hk/hooks" &&
		[ "$(cat "$hk/enabled")" = 0 ] && grep -q "^no: hooking failed" "$hk/guarded" &&
			ok status-failed-hook ||
			bad status-failed-hook "enabled=$(cat "$hk/enabled") $(grep "^$victim " "$hk/hooks")"
		dmesg -C
		if echo 1 2>/dev/null > "$hk/enabled"; then
			bad status-enable-refused "enabled=1 accepted with $victim not hooked"
		else
			dmesg | grep -q "mapex: $late: not enabled: hooking it failed (-16)" &&
			[ "$(cat "$hk/enabled")" = 0 ] && ok status-enable-refused ||
				bad status-enable-refused "$(dmesg | grep mapex | tail -n 1)"
		fi
		hooks_match status-hooks-match-ftrace-failed "$late"
		modprobe -r "$late"; rmmod ipmodify_squatter
		modprobe "$late"
		[ "$(cat "$hk/guarded")" = yes ] && [ "$(cat "$hk/enabled")" = 1 ] &&
			ok status-recovers-on-reload ||
			bad status-recovers-on-reload "$(cat "$hk/guarded")"
		rmmod mapex
	fi
	;;
*) echo "SKIP: hooks/status-failed-hook no filesystem module loaded late" ;;
esac
