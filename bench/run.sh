#!/usr/bin/env bash
# bench/run.sh: `make bench`. Measures soak against what users would use
# instead (ss, gopsutil, plain vegeta, gofakes3) and its own footprint, and
# writes bench/results.md. See docs/bench.md for what each row means.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--help]

Runs soak's benchmarks and comparisons and writes bench/results.md (raw
outputs in bench/out/). Loopback only; every part is bounded in time; about
12 minutes on 2 cores with the default 10-minute footprint run, which runs
in its own network namespace alongside the other parts.

Installs what it compares against when missing: `ss` (Debian's iproute2,
with apt-get, as root) and the vegeta CLI of go.mod's version (into
bench/out/bin, from the Go module proxy).

Environment:
  BENCH_PARTS          parts to run (default: all):
                       probes exporter kevents load s3 report idle footprint vm
                       (kevents: the kernel event witness's CPU at 1,000
                       and 10,000 new connections/s vs tcplife on the
                       tracepoint (bpftrace) and polling; lost events)
                       (vm: the probes benchmark up to 50,000 sockets in a
                       qemu VM, bench/vm/run.sh; needs /dev/kvm)
                       hostile (not in the default set: ~3 minutes and up
                       to ~2 GB of RAM): peak RSS of soak backend and soak
                       report under issue 21's hostile inputs at full size,
                       bench/hostile, into bench/out/hostile.md
  BENCH_FOOTPRINT      idle hold of the footprint run (default 10m; 1m rehearses)
  BENCH_LOAD_DURATION  length of each whole-process load run (default 10s)
  BENCH_LOAD_ROUNDS    rounds of soak / vegeta / vegeta -rate 0 (default 5)

Examples:
  make bench
  BENCH_PARTS=s3 bench/run.sh                 # one part; the table shows it alone
  BENCH_PARTS=footprint BENCH_FOOTPRINT=1m bench/run.sh
EOF
}
case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
PARTS=" ${BENCH_PARTS:-probes exporter kevents load s3 report idle footprint vm} "
FOOTPRINT=${BENCH_FOOTPRINT:-10m}
LOAD_DURATION=${BENCH_LOAD_DURATION:-10s}
LOAD_ROUNDS=${BENCH_LOAD_ROUNDS:-5}
OUT=bench/out
BIN=$OUT/bin
started=$(date +%s)
want() { [[ $PARTS == *" $1 "* ]]; }
log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

# Processes this script starts in the background, stopped on any exit.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

rm -f "$OUT"/*.txt
mkdir -p "$BIN"

# Machine facts, taken before anything of ours runs.
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc: $(nproc)"
	echo "cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
	echo "kernel: $(uname -sr)"
	echo "go: $(go version | awk '{print $3, $4}')"
	echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "fd hard limit: $(ulimit -Hn)"
	echo "parts:$(printf " %s" $PARTS)"
	echo "footprint: $FOOTPRINT"
} >"$OUT/facts.txt"

# What we compare against.
if ! command -v ss >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing ss (iproute2)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
	else
		log "ss is missing and cannot be installed here: the probe rows compare against nothing"
	fi
fi
vegeta_version=$(awk '$1 == "github.com/tsenart/vegeta/v12" {print $2}' go.mod)
# go install leaves -version empty; the module version is in the binary.
if ! go version -m "$BIN/vegeta" 2>/dev/null | grep -q "mod.*github.com/tsenart/vegeta/v12.*$vegeta_version"; then
	log "installing vegeta $vegeta_version into $BIN"
	GOBIN=$PWD/$BIN go install "github.com/tsenart/vegeta/v12@$vegeta_version"
fi
# A copy, so a rebuild of bin/soak during the run changes nothing (cp then
# mv: a copy still running from a killed run keeps its old file).
cp bin/soak "$BIN/soak.new" && mv "$BIN/soak.new" "$BIN/soak"
go build -o "$BIN/footprint" ./bench/footprint
go build -o "$BIN/table" ./bench/table

# gotest NAME TIMEOUT ARGS...: one go test run, its output kept in NAME.txt;
# a failure is reported and the table shows the row as missing.
gotest() {
	local name=$1 limit=$2
	shift 2
	log "$name: go test $*"
	timeout "$limit" go test "$@" >"$OUT/$name.txt" 2>&1 && return
	log "$name: failed (see $OUT/$name.txt)"
	return 1
}

if want probes; then
	# 50k sockets are skipped where the fd hard limit is below 51,500. One
	# retry: a size fails its set-up check when the helper accepts late.
	SOAK_LONG=1 gotest probes 300 -run '^$' -bench 'Sample|Gopsutil' -benchtime 10x -timeout 5m ./probes/ ||
		SOAK_LONG=1 gotest probes 300 -run '^$' -bench 'Sample|Gopsutil' -benchtime 10x -timeout 5m ./probes/ || true
fi
if want exporter; then
	# soak probe --listen: one scrape of /metrics against one bare sample,
	# same process and sockets (docs/probes.md).
	gotest exporter 120 -run '^$' -bench Scrape -benchtime 50x -timeout 2m ./exporter/ || true
fi
if want kevents; then
	# Before the footprint run too: CPU at 10,000 connections a second.
	# bpftrace (Debian's package) is installed by make deps-test; the
	# tracepoint it attaches to needs tracefs (the witness does not).
	make -s deps-test >&2 || true
	mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
	SOAK_KEVENTS_BENCH=1 SOAK_KEVENTS_OUT="$PWD/$OUT/kevents.md" \
		gotest kevents 600 -run TestKernelEventsCost -v -count 1 -timeout 9m ./probes/ || true
fi
# The footprint run is long and mostly idle; it runs in its own network
# namespace (its sockets stay out of the other parts' socket lists) while
# the other parts run here. It starts after the probes part: while it runs
# a 10,000-socket sample costs about twice as much (the kernel's sock_diag
# dump walks the TCP sockets of every namespace, and the two share the CPU
# caches; docs/probes.md).
if want footprint; then
	log "footprint: $FOOTPRINT idle hold of 10,000 connections, in the background"
	secs=$("$BIN/table" -seconds "$FOOTPRINT")
	timeout $((secs + 300)) "$BIN/footprint" -soak "$BIN/soak" -duration "$FOOTPRINT" -out "$OUT/footprint" \
		>"$OUT/footprint.txt" 2>"$OUT/footprint.log" &
	footprint_pid=$!
	pids+=("$footprint_pid")
fi

if want load; then
	SOAK_BENCH_DURATION=4s gotest steady 180 -run '^$' -bench SteadyVsVegeta -benchtime 4x -timeout 3m ./load/ || true
	bench/load.sh "$LOAD_DURATION" "$LOAD_ROUNDS" >"$OUT/load.txt" 2>"$OUT/load.log" || log "load: failed (see $OUT/load.log)"
fi
if want s3; then
	# Five rounds of the whole benchmark, not -count 5: each round runs all
	# three servers back to back, so the machine's drift hits them alike.
	log "s3: BenchmarkS3, 5 rounds"
	go test -c -o "$BIN/fakebackend.test" ./fakebackend/ || log "s3: build failed"
	: >"$OUT/s3.txt"
	for i in 1 2 3 4 5; do
		(cd fakebackend && timeout 60 "../$BIN/fakebackend.test" -test.run '^$' -test.bench S3 -test.benchtime 0.5s) \
			>>"$OUT/s3.txt" 2>&1 || log "s3: round $i failed (see $OUT/s3.txt)"
	done
fi
if want report; then
	SOAK_LONG=1 gotest report 240 -run TestBuild24h -v -count 1 -timeout 4m ./reports/ || true
fi
if want idle; then
	SOAK_LONG=1 gotest idle 180 -run TestIdleRSS -v -count 1 -timeout 3m ./load/ || true
fi

if want hostile; then
	log "hostile: peak RSS under issue 21's inputs (bench/hostile)"
	go build -tags gcs -o "$BIN/soak-gcs" ./cmd/soak && go build -o "$BIN/hostile" ./bench/hostile &&
		timeout 900 "$BIN/hostile" -soak "$BIN/soak-gcs" >"$OUT/hostile.md" 2>&1 || log "hostile: failed (see $OUT/hostile.md)"
fi

if want vm; then
	# Last: the VM takes both cores for a few minutes.
	log "vm: bench/vm/run.sh (BenchmarkSample up to 50,000 sockets in a VM)"
	timeout 1800 bench/vm/run.sh >"$OUT/vm.log" 2>&1 || log "vm: failed (see $OUT/vm.log)"
fi

if want footprint; then
	log "waiting for the footprint run"
	wait "$footprint_pid" || log "footprint: failed (see $OUT/footprint.log)"
fi
echo "wall: $(($(date +%s) - started))s" >>"$OUT/facts.txt"
"$BIN/table" -in "$OUT" -o bench/results.md
if [[ -s $OUT/kevents.md ]]; then
	{
		printf '\n## Kernel event witness vs tcplife (bpftrace) vs polling\n\n'
		printf 'Same churn for each watcher (one byte, then the client closes), 5 s per rate; CPU is the watcher process plus its BPF programs'"'"' run time (bench/out/kevents.txt).\n\n'
		cat "$OUT/kevents.md"
	} >>bench/results.md
fi
log "wrote bench/results.md in $(($(date +%s) - started))s"
