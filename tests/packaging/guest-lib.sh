# tests/packaging/guest-lib.sh - what the guest sides of the packaging
# tests share (sourced by tests/packaging/vm.t and secure-boot.t, inside a
# scripts/vm-run guest): PASS/FAIL/SKIP lines, a writable overlay of the
# guest's read-only root to install into, running commands in it, and the
# check of the load wrapper's one-line message.
#
# The sourcing script sets K (the running kernel release) first.

ok() { echo "PASS: packaging/$K/$1"; }
bad() { echo "FAIL: packaging/$K/$1 ${2:-}"; }
skip() { echo "SKIP: packaging/$K/$1 ${2:-}"; }
check() {	# NAME REASON-IF-FAILED CMD...: PASS if CMD succeeds
	local name=$1 why=$2; shift 2
	if "$@"; then ok "$name"; else bad "$name" "$why"; fi
}
say() { echo "# $*"; }

# ---- a writable root: overlay of / (9p, read-only) on a tmpfs ----
R=/run/pkg/root
setup_root() {
	modprobe overlay || return 1
	mkdir -p /run/pkg && mount -t tmpfs -o mode=0755 pkgroot /run/pkg || return 1
	mkdir -p /run/pkg/upper /run/pkg/work "$R"
	mount -t overlay overlay -o lowerdir=/,upperdir=/run/pkg/upper,workdir=/run/pkg/work "$R" || return 1
	local d
	for d in proc sys dev; do mount --rbind "/$d" "$R/$d" || return 1; done
	mount -t tmpfs -o mode=0755 run "$R/run" || return 1
	# devtmpfs lacks these links (udev makes them); dkms needs <(...).
	for d in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
		[ -e "/dev/${d%%:*}" ] || ln -s "${d#*:}" "/dev/${d%%:*}"
	done
	# systemd mounts securityfs; here, mount it where the load wrapper (in
	# the chroot) reads the lockdown state.
	mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
	mountpoint -q "$R/sys/kernel/security" || mount -t securityfs securityfs "$R/sys/kernel/security"
	return 0
}
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# wrapper_says NAME PATTERN CMD...: the command fails and the wrapper's
# stderr line matches PATTERN; with modprobe -q it is the only line.
wrapper_says() {
	local name=$1 pat=$2 line; shift 2
	"$@" > /dev/null 2> /tmp/w.err && { bad "$name" "the load succeeded"; in_root modprobe -r mapex; return; }
	line=$(grep '^mapex-modprobe: ' /tmp/w.err)
	say "$name: $(tr '\n' '|' < /tmp/w.err)"
	if [ "$(grep -c '^mapex-modprobe: ' /tmp/w.err)" = 1 ] && [[ $line =~ $pat ]]; then
		ok "$name"
	else
		bad "$name" "stderr: $(tr '\n' '|' < /tmp/w.err)"
	fi
}
