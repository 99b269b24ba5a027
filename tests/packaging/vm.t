#!/bin/bash
# tests/packaging/vm.t - guest side of the packaging test (run by
# tests/packaging/run through scripts/vm-run --fs none): installs the .debs
# of `make deb` on a writable overlay of the guest's read-only root and
# checks what a Debian user sees: dpkg -i builds mapex with DKMS for the
# running kernel, modprobe loads it through the shipped modprobe.d file,
# options there persist across loads, the installed mapexstat --status
# matches what is hooked (do_truncate held by another IPMODIFY user),
# modules-load.d loads it, mapexstat and its man pages and completion work, the load wrapper
# names the cause of
# each failure on one line, modprobe -r and dpkg --purge clean up.
# Lockdown is switched on last: it cannot be undone.
#
# Needs MAPEX_DEBS (the directory of the .debs) and the vm-run environment.
set -uo pipefail
# One function, parsed whole before it runs: editing this file while a VM
# runs it cannot change what it does next.
main() {
K=${MAPEX_KERNEL:?run me through scripts/vm-run}
debs=${MAPEX_DEBS:?MAPEX_DEBS must name the directory of the .debs}
case $debs in /*) ;; *) debs=$MAPEX_PROJ/$debs ;; esac
. "$MAPEX_PROJ/tests/packaging/guest-lib.sh"

# ---- a writable root to install into (guest-lib.sh) ----
copy_debs() {
	mkdir -p "$R/root/debs" && cp "$debs"/mapex-dkms_*_all.deb "$debs"/mapex-tools_*.deb "$R/root/debs/"
}
if ! { setup_root && copy_debs; }; then
	bad overlay-root "cannot build the writable overlay root"
	exit 1
fi
ok overlay-root
version=$(dpkg-deb -f "$R"/root/debs/mapex-dkms_*_all.deb Version)
version=${version%-*}
dir=/lib/modules/$K/updates/dkms

# DKMS builds for the running kernel and for the newest one in /boot: keep
# it to the running one (each build takes minutes under TCG;
# tests/packaging/run boots every kernel instead).
for c in "$R"/boot/config-*; do
	[ "$c" = "$R/boot/config-$K" ] || rm -f "$c"
done
# man-db's trigger would rebuild its index under TCG for minutes.
rm -f "$R/var/lib/man-db/auto-update"

# ---- install: DKMS builds and installs the module ----
t0=$SECONDS
in_root dpkg -i $(cd "$R" && ls root/debs/mapex-dkms_*_all.deb root/debs/mapex-tools_*.deb | sed "s#^#/#") > /tmp/dpkg.log 2>&1
rc=$?
dt=$((SECONDS - t0))
grep -v 'Reading database' /tmp/dpkg.log | sed 's/^/#   /'
say "dpkg -i of both packages, DKMS build and install for $K included: ${dt} s (TCG)"
check dpkg-install "dpkg -i exited $rc" [ "$rc" = 0 ]
status=$(in_root dkms status mapex 2>/dev/null)
say "dkms status: $status"
check dkms-installed "dkms status: $status" grep -q "^mapex/$version, $K, x86_64: installed" <<<"$status"
# DKMS compresses the module as the kernel's own are (xz on 6.12).
ko=$(cd "$R" && ls "${dir#/}"/mapex.ko* 2>/dev/null | head -n 1 | sed 's#^#/#')
say "installed module: ${ko:-none}"
check module-in-updates-dkms "nothing in $dir" [ -n "$ko" ]
file=$(in_root modinfo -F filename mapex 2>/dev/null)
check modprobe-finds-dkms-module "modinfo finds '$file'" [ "$file" = "${ko:-none}" ]
# DKMS signs what it builds, with a key it makes on first use: the key a
# Secure Boot user enrolls (docs/install.md).
signer=$(in_root modinfo -F signer mapex 2>/dev/null)
check dkms-signed "signer '${signer:-none}'" [ "$signer" = "DKMS module signing key" ]
check dkms-key-made "no /var/lib/dkms/mok.pub" [ -s "$R/var/lib/dkms/mok.pub" ]
if [ "$rc" != 0 ] || [ -z "$ko" ]; then
	bad install-stops-here "nothing to load: see the dpkg output above"
	exit 1
fi

# ---- load and unload with the shipped config ----
loaded() { [ -d /sys/module/mapex ]; }
check install-line-active "modprobe -n does not show the wrapper" \
	grep -q 'install .*/usr/lib/mapex/mapex-modprobe' <(in_root modprobe -n -v mapex 2>&1)
if in_root modprobe mapex 2> /tmp/load.err && loaded; then
	ok modprobe-default-config
	check module-version "version $(cat /sys/kernel/mapex/version)" \
		[ "$(cat /sys/kernel/mapex/version)" = "$version" ]
else
	bad modprobe-default-config "$(tr '\n' ' ' < /tmp/load.err)"
fi
in_root modprobe -r mapex
check modprobe-r "mapex still loaded" eval '! loaded'

# ---- options from /etc/modprobe.d persist across loads ----
conf=$R/etc/modprobe.d/mapex.conf
has_disabled=0
in_root modinfo -F parm mapex | grep -q '^disabled:' && has_disabled=1
sed -i 's/^#options mapex collision_check=0$/options mapex collision_check=0/' "$conf"
[ "$has_disabled" = 1 ] && sed -i 's/^#options mapex disabled=xfs$/options mapex disabled=xfs/' "$conf"
say "options now in /etc/modprobe.d/mapex.conf: $(grep '^options' "$conf" | tr '\n' ';')"
for round in 1 2; do
	if ! in_root modprobe mapex 2> /tmp/load.err; then
		bad "options-load-$round" "$(tr '\n' ' ' < /tmp/load.err)"
		continue
	fi
	p=/sys/module/mapex/parameters
	check "options-collision_check-$round" "collision_check=$(cat $p/collision_check)" \
		[ "$(cat $p/collision_check)" = N ]
	if [ "$has_disabled" = 1 ]; then
		got="disabled=$(cat $p/disabled) xfs/enabled=$(cat /sys/kernel/mapex/fs/xfs/enabled) ext4/enabled=$(cat /sys/kernel/mapex/fs/ext4/enabled)"
		check "options-disabled-xfs-$round" "$got" \
			[ "$got" = "disabled=xfs xfs/enabled=0 ext4/enabled=1" ]
	else
		skip "options-disabled-xfs-$round" "this module has no disabled= parameter"
	fi
	in_root modprobe -r mapex
done

# ---- the status the installed mapexstat prints ----
# With the options above still in mapex.conf (xfs disabled), and one hook
# left out: another ftrace IPMODIFY user (tests/modules/ipmodify_squatter,
# standing in for livepatch) holds do_truncate.  ext4 and xfs are loaded
# first, so that both have hooks to show.
status_test() {
	local fsys want got f rc
	local squatter=$MAPEX_PROJ/build/$K/tests/modules/ipmodify_squatter/ipmodify_squatter.ko
	modprobe ext4 2>/dev/null; modprobe xfs 2>/dev/null
	if ! insmod "$squatter" symbol=do_truncate; then
		bad status-load "cannot load $squatter"
		return
	fi
	if ! in_root modprobe mapex 2> /tmp/load.err; then
		bad status-load "$(tr '\n' ' ' < /tmp/load.err)"
		rmmod ipmodify_squatter
		return
	fi
	in_root mapexstat --status > /tmp/status 2>&1
	rc=$?
	check status-exit "mapexstat --status exited $rc" [ "$rc" = 0 ]
	sed 's/^/#   /' /tmp/status
	check status-versions "no line 'mapex module $version, mapexstat $version'" \
		grep -q "^mapex module $version, mapexstat $version\$" /tmp/status
	fsys=$(ls /sys/kernel/mapex/fs | sort)
	want=""
	for f in $fsys; do
		want+="$f $(cat /sys/kernel/mapex/fs/$f/enabled) $(cat /sys/kernel/mapex/fs/$f/guarded)|"
	done
	got=$(awk '/^FS /{t=1; next} t && NF==0 {exit} t {printf "%s|", $0}' /tmp/status | sed 's/  */ /g')
	check status-rows-match-sysfs "got '$got', want '$want'" [ "$got" = "$want" ]
	check status-xfs-disabled-from-config "xfs: $(grep '^xfs ' /tmp/status)" \
		grep -q '^xfs  *0  *no' /tmp/status
	check status-ext4-partial "ext4: $(grep '^ext4 ' /tmp/status)" \
		grep -q '^ext4  *1  *partial:.*do_truncate' /tmp/status
	check status-hook-failed "no 'do_truncate ... failed:-16' under ext4 hooks" \
		eval "sed -n '/^ext4 hooks:/,/^[^ ]/p' /tmp/status | grep -q '^  do_truncate .*failed:-16\$'"
	in_root modprobe -r mapex
	rmmod ipmodify_squatter
}
status_test

# ---- loading at boot: modules-load.d ----
if [ -x "$R/lib/systemd/systemd-modules-load" ]; then
	grep -q '^#mapex$' "$R/etc/modules-load.d/mapex.conf" &&
		ok modules-load-shipped-commented || bad modules-load-shipped-commented
	sed -i 's/^#mapex$/mapex/' "$R/etc/modules-load.d/mapex.conf"
	in_root /lib/systemd/systemd-modules-load > /tmp/ml.out 2>&1
	rc=$?
	check modules-load-boot "systemd-modules-load exited $rc: $(tr '\n' ' ' < /tmp/ml.out)" \
		eval '[ "$rc" = 0 ] && loaded && [ "$(cat /sys/module/mapex/parameters/collision_check)" = N ]'
	in_root modprobe -r mapex
	sed -i 's/^mapex$/#mapex/' "$R/etc/modules-load.d/mapex.conf"
else
	skip modules-load-boot "no systemd-modules-load"
fi

# ---- the tools package ----
out=$(in_root mapexstat --help 2>&1)
check mapexstat-help "$(head -n 1 <<<"$out")" grep -q '^Usage: mapexstat' <<<"$out"
check man-pages "man -w cannot find them" in_root man -w mapexstat mapex.4
comp=/usr/share/bash-completion
if [ -r "$R$comp/bash_completion" ]; then
	words=$(in_root bash -c ". $comp/bash_completion; . $comp/completions/mapexstat
		COMP_WORDS=(mapexstat --mo); COMP_CWORD=1; COMP_LINE='mapexstat --mo'; COMP_POINT=\${#COMP_LINE}
		_mapexstat mapexstat --mo mapexstat; echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(mapexstat --mode direct_w); COMP_CWORD=2; COMP_LINE='mapexstat --mode direct_w'; COMP_POINT=\${#COMP_LINE}
		_mapexstat mapexstat direct_w --mode; echo \"\${COMPREPLY[*]}\"" 2>&1 | tr '\n' '|')
	check bash-completion "completions: $words" [ "$words" = "--mode|direct_write|" ]
else
	skip bash-completion "bash-completion is not installed (scripts/setup)"
fi

# ---- the wrapper's one line for each failure ----
# The release as a literal in a pattern (6.12's holds a '+').
K_re=$(sed 's/[].[^$*+?(){}|\\]/\\&/g' <<<"$K")
# The module file is gone (DKMS did not build it).
mv "$R$ko" "$R/root/mapex.ko.saved"
wrapper_says wrapper-no-module "no mapex module for kernel $K_re: DKMS did not build it; see 'dkms status mapex'" \
	in_root modprobe mapex
check wrapper-quiet-one-line "modprobe -q printed $(wc -l < /tmp/w.err) lines" \
	eval 'in_root modprobe -q mapex 2> /tmp/w.err; [ "$(wc -l < /tmp/w.err)" = 1 ]'
# A module built for the other kernel (scripts/check's build stage).
other=""
for d in "$MAPEX_PROJ"/build/*/mapex.ko; do
	case $d in "$MAPEX_PROJ/build/$K/mapex.ko") ;; *) [ -f "$d" ] && other=$d ;; esac
done
if [ -n "$other" ]; then
	# Stored as DKMS stored ours (compressed on 6.12).
	case $ko in
	*.xz) xz -c "$other" > "$R$ko" ;;
	*.zst) zstd -q -c "$other" > "$R$ko" ;;
	*.gz) gzip -c "$other" > "$R$ko" ;;
	*) cp "$other" "$R$ko" ;;
	esac
	wrapper_says wrapper-other-kernel "built for another kernel than $K_re|load failed: mapex: " \
		in_root modprobe mapex
else
	skip wrapper-other-kernel "no module of another kernel under build/"
fi
mv "$R/root/mapex.ko.saved" "$R$ko"
# Another ftrace IPMODIFY user (as livepatch) holds filemap_fault.
squatter=$MAPEX_PROJ/build/$K/tests/modules/ipmodify_squatter/ipmodify_squatter.ko
if [ -f "$squatter" ] && insmod "$squatter" symbol=filemap_fault; then
	wrapper_says wrapper-ipmodify "load failed: mapex: cannot hook filemap_fault: -16" \
		in_root modprobe mapex
	rmmod ipmodify_squatter
else
	skip wrapper-ipmodify "cannot load $squatter"
fi
# Not root.
wrapper_says wrapper-not-root "needs root" \
	chroot --userspec=65534:65534 "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /sbin/modprobe mapex
# After all that, it still loads.
in_root modprobe mapex 2> /tmp/load.err && loaded && in_root modprobe -r mapex &&
	ok reload-after-failures || bad reload-after-failures "$(tr '\n' ' ' < /tmp/load.err)"

# ---- lockdown (Secure Boot): the module is not signed by a trusted key ----
lockdown_test() {
	# (setup_root mounted securityfs, as systemd does.)
	local f=/sys/kernel/security/lockdown
	[ -w "$f" ] || { skip wrapper-lockdown "no lockdown LSM ($f)"; return; }
	echo integrity > "$f" || { bad wrapper-lockdown "cannot write $f"; return; }
	say "lockdown: $(cat "$f")"
	wrapper_says wrapper-lockdown "refused by kernel lockdown \\(integrity, Secure Boot\\).*mokutil --import /var/lib/dkms/mok.pub" \
		in_root modprobe mapex
}

lockdown_test

# ---- removal ----
in_root dpkg --purge mapex-tools mapex-dkms > /tmp/purge.log 2>&1
rc=$?
sed 's/^/#   /' /tmp/purge.log | grep -v 'Reading database'
check dpkg-purge "dpkg --purge exited $rc" [ "$rc" = 0 ]
check purge-removes-module "$ko is left" [ ! -e "$R$ko" ]
check purge-removes-dkms-tree "/var/lib/dkms/mapex is left" [ ! -e "$R/var/lib/dkms/mapex" ]
check purge-removes-config "/etc/modprobe.d/mapex.conf is left" [ ! -e "$conf" ]
}
# One line: bash reads it whole before main runs.
main "$@"; exit 0
