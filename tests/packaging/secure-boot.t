#!/bin/bash
# tests/packaging/secure-boot.t - guest side of the Secure Boot test (run by
# tests/packaging/run through scripts/vm-run --secure-boot, two boots on one
# firmware NVRAM).  DIR holds what tests/packaging/vm.t left: the module
# DKMS built and signed in that VM, and DKMS's certificate mok.pub.
#
#   enroll DIR  first boot: the kernel must refuse the DKMS module (its key
#               is not trusted yet); then the key is enrolled.
#   load DIR    second boot: Secure Boot has locked the kernel down, the
#               enrolled key is trusted, and `modprobe mapex` through the
#               shipped wrapper loads the DKMS module; an unsigned module and
#               one signed with another key are refused, each with the
#               wrapper's one Secure Boot line.
#
# Enrolling: `mokutil --import` asks shim's MokManager to add the key to the
# MokList at the next boot, and shim hands the list to the kernel as the
# runtime variable MokListRT.  No shim runs under vm-run (the firmware
# boots the kernel directly), so "enroll" writes MokListRT itself, through
# efivarfs: what the kernel reads is the same (docs/install.md).
set -uo pipefail
# One function, parsed whole before it runs: editing this file while a VM
# runs it cannot change what it does next.
main() {
K=${MAPEX_KERNEL:?run me through scripts/vm-run --secure-boot}
phase=${1:-} dir=${2:-}
. "$MAPEX_PROJ/tests/packaging/guest-lib.sh"
case $phase in enroll|load) ;; *) echo "usage: secure-boot.t enroll|load DIR" >&2; exit 2 ;; esac
[ -s "$dir/mok.pub" ] && ls "$dir"/mapex.ko* > /dev/null 2>&1 ||
	{ bad "secure-boot-$phase" "no DKMS module and mok.pub in '$dir'"; exit 1; }
dkms_ko=$(ls "$dir"/mapex.ko* | head -n 1)
shim_guid=605dab50-e046-4300-abb6-3dd810dd8b23	# shim's variables (EFI_SHIM_LOCK_GUID)

# The boot's kernel log, read once (grep -q on a pipe from dmesg would make
# dmesg die of SIGPIPE, and pipefail would count that as no match).
dmesg > /tmp/boot.log
# Secure Boot on, and the kernel locked down by it (not by a command line).
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
lockdown=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' /sys/kernel/security/lockdown 2>/dev/null)
if grep -q 'Kernel is locked down from EFI Secure Boot' /tmp/boot.log && [ "$lockdown" = integrity ]; then
	ok "$phase/secure-boot-lockdown"
else
	bad "$phase/secure-boot-lockdown" "lockdown '$lockdown'; kernel log: $(grep -i -m 3 -E 'secure ?boot|lockdown' /tmp/boot.log | tr '\n' '|')"
fi
say "$(grep -E "integrity: Loaded X.509 cert" /tmp/boot.log | sed 's/^\[[^]]*\] //' | tr '\n' '|')"

if [ "$phase" = enroll ]; then
	# Not trusted yet: the kernel refuses the DKMS module outright.
	local_ko=/tmp/$(basename "$dkms_ko")
	cp "$dkms_ko" "$local_ko"
	if insmod "$local_ko" 2> /tmp/insmod.err; then
		bad enroll/refused-before-enrolment "the DKMS module loaded before its key was enrolled"
		rmmod mapex
	else
		say "before enrolment: $(tr '\n' ' ' < /tmp/insmod.err)"
		check enroll/refused-before-enrolment "$(tr '\n' ' ' < /tmp/insmod.err)" \
			grep -q 'Key was rejected by service' /tmp/insmod.err
	fi
	mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null
	# An EFI_SIGNATURE_LIST of one X.509 certificate, after the variable's
	# attributes (non-volatile, boot and runtime access), in ONE write.
	openssl x509 -inform DER -in "$dir/mok.pub" -out /tmp/mok.pem &&
		cert-to-efi-sig-list -g "$shim_guid" /tmp/mok.pem /tmp/mok.esl > /dev/null &&
		{ printf '\007\000\000\000'; cat /tmp/mok.esl; } > /tmp/MokListRT
	var=/sys/firmware/efi/efivars/MokListRT-$shim_guid
	cat /tmp/MokListRT > "$var"
	check enroll/moklistrt-written "$var: $(stat -c %s "$var" 2>/dev/null || echo missing) bytes" \
		[ "$(stat -c %s "$var" 2>/dev/null)" = "$(stat -c %s /tmp/MokListRT)" ]
	exit 0
fi

# ---- load: the enrolled key is trusted ----
if grep -q "integrity: Loaded X.509 cert 'DKMS module signing key" /tmp/boot.log; then
	ok load/mok-trusted
else
	bad load/mok-trusted "no 'DKMS module signing key' certificate loaded from MokListRT"
fi
if ! setup_root; then
	bad load/overlay-root "cannot build the writable overlay root"
	exit 1
fi
# The shipped wrapper and modprobe.d file, from the package.
debs=${MAPEX_DEBS:?MAPEX_DEBS must name the directory of the .debs}
case $debs in /*) ;; *) debs=$MAPEX_PROJ/$debs ;; esac
rm -f "$R/var/lib/man-db/auto-update"
mkdir -p "$R/root/debs" && cp "$debs"/mapex-tools_*.deb "$R/root/debs/"
if ! in_root dpkg -i $(cd "$R" && ls root/debs/mapex-tools_*.deb | sed 's#^#/#') > /tmp/dpkg.log 2>&1; then
	sed 's/^/#   /' /tmp/dpkg.log
	bad load/install-tools "dpkg -i mapex-tools failed"
	exit 1
fi
# The DKMS module where DKMS installs it, in a module tree of its own: the
# kernel's lists of built-in modules, and no stock module (mapex needs none,
# and depmod reading them all over 9p under TCG took 48 to 140 s).
mt=/lib/modules/$K
mount -t tmpfs -o mode=0755 modtree "$R$mt" &&
	cp -P "$mt"/modules.builtin* "$mt/modules.order" "$mt/build" "$R$mt/" ||
	{ bad load/module-tree "cannot build the module tree"; exit 1; }
mdir=$mt/updates/dkms
mkdir -p "$R$mdir" && cp "$dkms_ko" "$R$mdir/"
installed=$mdir/$(basename "$dkms_ko")
in_root depmod "$K"
loaded() { [ -d /sys/module/mapex ]; }

if in_root modprobe mapex 2> /tmp/load.err && loaded; then
	ok load/modprobe-dkms-module
	say "loaded: version $(cat /sys/kernel/mapex/version), signer '$(modinfo -F signer "$R$installed")'"
	in_root modprobe -r mapex
else
	bad load/modprobe-dkms-module "$(tr '\n' ' ' < /tmp/load.err)"
fi

# Put FILE (an uncompressed .ko) where the DKMS module was, compressed as it.
install_as_dkms() {	# FILE
	case $installed in
	*.xz) xz -c --check=crc32 "$1" > "$R$installed" ;;
	*.zst) zstd -q -c "$1" > "$R$installed" ;;
	*) cp "$1" "$R$installed" ;;
	esac
}
sb_line="refused by kernel lockdown \\(integrity, Secure Boot\\).*mokutil --import /var/lib/dkms/mok.pub"
# Unsigned (a plain `make` build).
install_as_dkms "$MAPEX_PROJ/build/$K/mapex.ko"
wrapper_says load/wrapper-unsigned "$sb_line" in_root modprobe mapex
# Signed, by a key nobody enrolled.
sign_file=/lib/modules/$K/build/scripts/sign-file	# both kernels (docs/install.md)
cp "$MAPEX_PROJ/build/$K/mapex.ko" /tmp/other.ko
if openssl req -new -x509 -nodes -days 1 -subj "/CN=not enrolled" -newkey rsa:2048 \
		-keyout /tmp/other.key -outform DER -out /tmp/other.der > /dev/null 2>&1 &&
   "$sign_file" sha256 /tmp/other.key /tmp/other.der /tmp/other.ko; then
	install_as_dkms /tmp/other.ko
	wrapper_says load/wrapper-other-key "$sb_line" in_root modprobe mapex
else
	bad load/wrapper-other-key "cannot sign a module with a fresh key ($sign_file)"
fi
# Secure Boot enforces signatures: the kernel's reasons, not lockdown's.
dmesg > /tmp/after.log
check load/kernel-says-rejected "the kernel log lacks 'Loading of unsigned module is rejected' or 'Loading of module with unavailable key is rejected'" \
	eval "grep -q 'Loading of unsigned module is rejected' /tmp/after.log &&
	      grep -q 'Loading of module with unavailable key is rejected' /tmp/after.log"
# And the DKMS module still loads.
cp "$dkms_ko" "$R$installed"
if in_root modprobe mapex 2> /tmp/load.err && loaded; then
	ok load/reload-dkms-module
	in_root modprobe -r mapex
else
	bad load/reload-dkms-module "$(tr '\n' ' ' < /tmp/load.err)"
fi
}
main "$@"
