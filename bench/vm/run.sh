#!/usr/bin/env bash
# bench/vm/run.sh: `make bench-vm`. Runs the probes benchmark (BenchmarkSample,
# SOAK_LONG=1, so up to 50,000 sockets) inside a small virtual machine, where
# it is root with every capability and can raise its fd limit past the host's
# hard limit, next to `ss` in the same VM; writes bench/out/probes-vm.txt.
# See docs/bench.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/vm/run.sh [--help]

Boots a Debian kernel with an initramfs (busybox, ss, the static probes test
binary) under qemu-system-x86_64, runs
  SOAK_LONG=1 probes.test -test.run '^$' -test.bench Sample -test.benchtime 10x
with `ulimit -n 200000`, and writes its output to bench/out/probes-vm.txt,
with facts about the VM and the host as `# ` lines on top (the full console
is in bench/out/vm/console.log). The VM has no network device: only its own
loopback. It is stopped after BENCH_VM_TIMEOUT whatever happens.

Needs /dev/kvm. The VM uses KVM (-enable-kvm -cpu host) where the CPU shows
vmx/svm; where /dev/kvm is there without them (a PVM nested hypervisor, as
on the build machine, boots no stock kernel) it runs under TCG, qemu's
emulator: about 2.5 minutes on 2 cores, figures several times native.

Installs when missing, from Debian's packages (as root): qemu-system-x86 and
iproute2 (apt-get install --no-install-recommends); a Debian kernel
(linux-image-amd64's linux-image-6.*-amd64: its vmlinuz and the
inet_diag/tcp_diag modules) and busybox-static are fetched with
`apt-get download` and unpacked into bench/out/vm/, not installed.

Environment:
  BENCH_VM_TIMEOUT  limit of the VM's whole run (default 25m)
  BENCH_VM_CPUS     vCPUs (default 2)
  BENCH_VM_MEM      memory (default 4G)
  BENCH_VM_NOFILE   fd limit in the VM (default 200000)
  BENCH_VM_BENCH    -test.bench pattern (default Sample)
  BENCH_VM_ACCEL    auto (default: kvm where the CPU has vmx/svm, else tcg), kvm, tcg
  BENCH_VM_TEST     a static probes test binary to run instead of building
                    ./probes/ (to try a patch: CGO_ENABLED=0 go test -c ...)
EOF
}
case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

cd "$(dirname "$0")/../.."
OUT=bench/out
VM=$OUT/vm
RESULT=$OUT/probes-vm.txt
VM_TIMEOUT=${BENCH_VM_TIMEOUT:-25m}
VM_CPUS=${BENCH_VM_CPUS:-2}
VM_MEM=${BENCH_VM_MEM:-4G}
NOFILE=${BENCH_VM_NOFILE:-200000}
BENCH=${BENCH_VM_BENCH:-Sample}
ACCEL=${BENCH_VM_ACCEL:-auto}
TEST_BIN=${BENCH_VM_TEST:-}
started=$(date +%s)
host_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '%s bench-vm: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# KVM where the CPU virtualises (vmx/svm): a stock kernel runs at near
# native speed. Elsewhere TCG, qemu's emulator: every figure is many times
# the native one, and not evenly (a new process such as ss pays for code
# translation), so sizes compare with each other within one run.
accel_why=
case $ACCEL in
auto | kvm)
	[ -e /dev/kvm ] || die "/dev/kvm is missing: this machine cannot run a KVM virtual machine (no hardware virtualisation, or not passed into this container); BENCH_VM_ACCEL=tcg runs the VM emulated, far slower"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not readable and writable by $(id -un)"
	if [ "$ACCEL" = auto ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		accel_why="/dev/kvm exists but the CPU shows no vmx/svm"
		if [ -d /sys/module/kvm_pvm ]; then
			accel_why="/dev/kvm is kvm-pvm (PVM, a nested hypervisor without vmx/svm), which runs only PVM-enabled guest kernels: a Debian kernel's kernel mode is emulated there and does not finish decompressing itself in 8 minutes"
		fi
		log "WARNING: $accel_why; the VM runs under TCG (emulated) instead (BENCH_VM_ACCEL=kvm forces KVM)"
		ACCEL=tcg
	else
		ACCEL=kvm
	fi
	;;
tcg) accel_why="BENCH_VM_ACCEL=tcg" ;;
*) die "BENCH_VM_ACCEL must be auto, kvm or tcg, not $ACCEL" ;;
esac
if [ "$ACCEL" = kvm ]; then
	ACCEL_ARGS=(-enable-kvm -cpu host)
else
	ACCEL_ARGS=(-accel tcg -cpu max)
fi

mkdir -p "$VM"
rm -f "$RESULT"

# --- What it needs, from Debian's packages -----------------------------------

apt_ready=
apt_prepare() {
	[ -n "$apt_ready" ] && return
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
		die "$1 is missing and cannot be installed here (needs root and apt-get)"
	log "apt-get update"
	timeout 5m apt-get update -qq || die "apt-get update failed"
	apt_ready=1
}
apt_install() { # PACKAGE: for a missing command
	apt_prepare "$1"
	log "installing $1 (apt-get install --no-install-recommends)"
	DEBIAN_FRONTEND=noninteractive timeout 10m apt-get install -y -qq --no-install-recommends "$1" >/dev/null ||
		die "apt-get install $1 failed"
}
# apt_unpack PACKAGE DIR: apt-get download PACKAGE and dpkg -x it into DIR.
apt_unpack() {
	apt_prepare "$1"
	log "fetching $1 (apt-get download, unpacked into $2)"
	rm -rf "$VM/dl" "$2"
	mkdir -p "$VM/dl" "$2"
	(cd "$VM/dl" && timeout 10m apt-get download -q "$1" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
	local deb
	deb=$(ls "$VM"/dl/*.deb 2>/dev/null | head -1) || true
	[ -n "$deb" ] || die "apt-get download $1 failed"
	dpkg -x "$deb" "$2"
	rm -rf "$VM/dl"
}

command -v qemu-system-x86_64 >/dev/null || apt_install qemu-system-x86
command -v ss >/dev/null || apt_install iproute2
SS=$(command -v ss)

# The kernel: linux-image-amd64's dependency, linux-image-6.x.y-N-amd64. Its
# vmlinuz is kept, and the modules of TCP's sock_diag (inet_diag, tcp_diag,
# with what they depend on): without them both the sampler and ss fall back
# to parsing /proc/net/tcp. The rest the VM uses (serial console, devtmpfs,
# tmpfs, loopback TCP, BPF, BTF) is built in.
KMODS="inet_diag tcp_diag"
# add_module NAME: copies NAME.ko after the modules it depends on into
# $VM/modules, and appends the names to $VM/modules/order (insmod order).
add_module() {
	local f deps d
	grep -qx "$1" "$VM/modules/order" && return
	f=$(find "$VM/kernel/lib/modules" -name "$1.ko" | head -1)
	[ -n "$f" ] || die "module $1 not in the kernel package"
	deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $deps; do add_module "$d"; done
	cp "$f" "$VM/modules/"
	echo "$1" >>"$VM/modules/order"
}
if [ ! -s "$VM/vmlinuz" ] || [ ! -s "$VM/kernel-version" ] || [ "$(cat "$VM/modules/wanted" 2>/dev/null)" != "$KMODS" ]; then
	apt_prepare linux-image-amd64
	kpkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
	[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 depends on"
	apt_unpack "$kpkg" "$VM/kernel"
	vmlinuz=$(ls "$VM"/kernel/boot/vmlinuz-* 2>/dev/null | head -1) || true
	[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $kpkg"
	cp "$vmlinuz" "$VM/vmlinuz"
	basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$VM/kernel-version"
	rm -rf "$VM/modules"
	mkdir -p "$VM/modules"
	: >"$VM/modules/order"
	for m in $KMODS; do add_module "$m"; done
	echo "$KMODS" >"$VM/modules/wanted"
	rm -rf "$VM/kernel" # its other modules take ~400 MB
fi
kernel_version=$(cat "$VM/kernel-version")

# busybox-static: the VM's init shell and tools (unpacked, not installed:
# it conflicts with Debian's dynamic busybox).
if [ ! -x "$VM/busybox" ]; then
	apt_unpack busybox-static "$VM/busybox-pkg"
	cp "$VM/busybox-pkg/bin/busybox" "$VM/busybox"
	rm -rf "$VM/busybox-pkg"
fi

# cpio for the initramfs: the host's, else busybox's (-o is optional there),
# else Debian's cpio.
if command -v cpio >/dev/null; then
	CPIO=(cpio)
elif "$VM/busybox" cpio --help 2>&1 | grep -q -- '-o'; then
	CPIO=("$PWD/$VM/busybox" cpio)
else
	apt_install cpio
	CPIO=(cpio)
fi

# --- The benchmark, static ----------------------------------------------------

if [ -n "$TEST_BIN" ]; then
	log "using the test binary $TEST_BIN (BENCH_VM_TEST), not one built from this tree"
	ldd "$TEST_BIN" >/dev/null 2>&1 && die "$TEST_BIN is dynamically linked; build it with CGO_ENABLED=0"
	cp "$TEST_BIN" "$VM/probes.test"
else
	log "building the probes test binary (CGO_ENABLED=0)"
	CGO_ENABLED=0 timeout 10m go test -c -o "$VM/probes.test" ./probes/ || die "go test -c ./probes/ failed"
fi

# --- The initramfs ---------------------------------------------------------------

root=$VM/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root}
cp "$VM/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$VM/probes.test" "$root/probes.test"
mkdir -p "$root/modules"
cp "$VM"/modules/*.ko "$VM/modules/order" "$root/modules/"
# ss with the shared libraries and dynamic loader ldd lists, at the same paths.
cp -L "$SS" "$root/usr/bin/ss"
ldd "$SS" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
: >"$root/etc/ld.so.conf"

cat >"$root/init" <<EOF
#!/bin/sh
# PID 1 of the benchmark VM; written by bench/vm/run.sh.
/bin/busybox --install -s /bin
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1
echo 4 >/proc/sys/kernel/printk # errors and worse only
for m in \$(cat /modules/order); do insmod /modules/\$m.ko || echo "insmod \$m failed"; done
ip link set lo up
# The benchmark holds 2 fds per socket pair across its two processes, up
# to 50,000 each, plus its own.
sysctl -q -w fs.nr_open=1048576
sysctl -q -w fs.file-max=1048576
ulimit -n $NOFILE
ulimit -l unlimited
sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
sysctl -q -w net.core.somaxconn=65535
sysctl -q -w net.ipv4.tcp_max_syn_backlog=65535
echo "==== soak-vm facts ===="
echo "kernel: \$(uname -r)"
if [ -e /sys/kernel/btf/vmlinux ]; then echo "btf: /sys/kernel/btf/vmlinux present"; else echo "btf: /sys/kernel/btf/vmlinux missing"; fi
echo "fd limit: \$(ulimit -n)"
echo "vcpus: \$(nproc)"
echo "memory: \$(awk '/^MemTotal/ {print \$2, \$3}' /proc/meminfo)"
echo "somaxconn: \$(cat /proc/sys/net/core/somaxconn)"
echo "ephemeral ports: \$(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' ' ')"
echo "ss: \$(ss -V 2>&1 | head -1)"
echo "modules: \$(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ' | sed 's/ \$//')"
echo "==== soak-vm fd lister check ===="
cd /tmp
/probes.test -test.run '^(TestSamplerSaysFDMethod|TestBPFFDsMatchProc)\$' -test.v -test.timeout 2m 2>&1
echo "==== soak-vm bench start ===="
SOAK_LONG=1 /probes.test -test.run '^\$' -test.bench '$BENCH' -test.benchtime 10x -test.timeout 20m >/tmp/bench.txt 2>&1
echo "==== soak-vm bench exit \$? ===="
cat /tmp/bench.txt
echo "==== soak-vm bench end ===="
sync
poweroff -f
EOF
chmod 755 "$root/init"

log "packing the initramfs"
cpiolog=$PWD/$VM/cpio.log
(cd "$root" && find . | "${CPIO[@]}" -o -H newc 2>"$cpiolog") | gzip -1 >"$VM/initramfs.gz" ||
	die "cpio failed: $(cat "$cpiolog")"

# --- The VM ----------------------------------------------------------------------

console=$VM/console.log
qemu_version=$(qemu-system-x86_64 --version | head -1)
log "booting $kernel_version (${ACCEL_ARGS[*]}, $VM_CPUS vCPUs, $VM_MEM, no network device; limit $VM_TIMEOUT); console in $console"
set +e
# stdin from /dev/null: qemu then leaves the terminal alone; -no-reboot turns
# the kernel's panic=-1 reboot (init died) into qemu's exit.
timeout -k 30s "$VM_TIMEOUT" qemu-system-x86_64 "${ACCEL_ARGS[@]}" -smp "$VM_CPUS" -m "$VM_MEM" \
	-nographic -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$VM/vmlinuz" -initrd "$VM/initramfs.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic" \
	</dev/null 2>&1 | tr -d '\r' | tee "$console"
rcs=("${PIPESTATUS[@]}")
set -e
qemu_rc=${rcs[0]}
host_load_end=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	log "the VM did not finish within $VM_TIMEOUT and was stopped"
elif [ "$qemu_rc" != 0 ]; then
	log "qemu exited with status $qemu_rc"
fi

# --- Its results -------------------------------------------------------------------

# section NAME: the console lines between "==== soak-vm NAME ====" and the
# next marker (the first marker may follow SeaBIOS's escape codes on its line).
section() {
	awk -v start="==== soak-vm $1 ====" 'index($0, start) {on = 1; next} on && /^==== soak-vm / {exit} on {print}' "$console"
}
bench_rc=$(sed -n 's/^==== soak-vm bench exit \([0-9]*\) ====$/\1/p' "$console" | head -1)
grep -q '^==== soak-vm bench end ====$' "$console" && [ -n "$bench_rc" ] ||
	die "the VM did not print the benchmark's results (qemu status $qemu_rc); see $console"
section "bench exit $bench_rc" >"$VM/bench.txt"

fdcheck=$(section "fd lister check")
if grep -q -- '^--- PASS: TestSamplerSaysFDMethod' <<<"$fdcheck"; then
	lister="BPF task_file iterator (TestSamplerSaysFDMethod passed in the VM)"
elif grep -q -- '^--- SKIP: TestSamplerSaysFDMethod' <<<"$fdcheck"; then
	lister="/proc/PID/fd, BPF not available: $(grep -m1 -o 'BPF fd iterator not available.*' <<<"$fdcheck" || echo '?')"
else
	lister="unknown (TestSamplerSaysFDMethod did not pass or skip; see $console)"
fi

{
	echo "# BenchmarkSample in a VM: bench/vm/run.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
	section facts | sed 's/^/# vm /'
	echo "# vm fd lister: $lister"
	echo "# vm qemu: $qemu_version, ${ACCEL_ARGS[*]}"
	if [ -n "$TEST_BIN" ]; then
		echo "# vm test binary: $TEST_BIN (BENCH_VM_TEST), not built from this tree"
	else
		echo "# vm test binary: ./probes/ at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- probes 2>/dev/null || echo ' + uncommitted changes in probes/')"
	fi
	if [ "$ACCEL" = tcg ]; then
		echo "# vm accel: tcg (emulated: times are many times native, and not evenly so; compare sizes within this file): $accel_why"
	else
		echo "# vm accel: kvm"
	fi
	echo "# host kernel: $(uname -r)"
	echo "# host cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), nproc $(nproc)"
	echo "# host load average at start: $host_load_start"
	echo "# host load average at end: $host_load_end"
	echo "# benchmark exit status: $bench_rc"
	cat "$VM/bench.txt"
} >"$RESULT"

log "wrote $RESULT in $(($(date +%s) - started)) s"
grep -q '^Benchmark' "$VM/bench.txt" || die "no benchmark lines in the VM's output; see $RESULT"
if [ "$bench_rc" != 0 ]; then
	die "the benchmark failed in the VM (exit status $bench_rc); see $RESULT"
fi
