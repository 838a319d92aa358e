#!/usr/bin/env bash
# bench/load.sh DURATION ROUNDS: the whole-process load comparison of
# `make bench` (run by bench/run.sh after it has built bench/out/bin). One
# plain loopback server (the reference SUT's proxy role: GET / answers
# without forwarding); against it, in rotating order, ROUNDS times:
#   soak    `soak run bench/load.yaml`: a steady phase with probes on
#   vegeta  `vegeta attack` with the same rate, workers and connections
#   vegeta0 the same with -rate 0 (as fast as the workers go)
# Prints one line per run: "load round=N tool=T rps=R" (successful req/s).
set -euo pipefail
du=${1:-10s}
rounds=${2:-5}
OUT=bench/out
BIN=$OUT/bin
dir=$OUT/load
rm -rf "$dir"
mkdir -p "$dir"

"$BIN/soak" testsut --role proxy --listen 127.0.0.1:0 --targets http://127.0.0.1:9 \
	--idle-timeout 1m --pid-file "$PWD/$dir/sut.pid" >"$dir/sut.log" 2>&1 &
sut=$!
trap 'kill $sut 2>/dev/null || true' EXIT
addr=""
for _ in $(seq 50); do # at most 5 s
	addr=$(grep -o 'addr=[^ ]*' "$dir/sut.log" 2>/dev/null | cut -d= -f2 || true)
	[ -n "$addr" ] && [ -s "$dir/sut.pid" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { echo "load: the server did not start" >&2; cat "$dir/sut.log" >&2; exit 1; }

# Same knobs on both sides: bench/load.yaml's steady phase.
rate=200000/s workers=10 conns=64
bound=$(($("$BIN/table" -seconds "$du") + 60))

run_soak() {
	local name=$1
	timeout "$bound" "$BIN/soak" run bench/load.yaml --quiet --out "$dir/runs" --name "$name" \
		--set nodes.sut.attach.pid_file="$PWD/$dir/sut.pid" --set nodes.sut.attach.url="http://$addr" \
		--set "phases[0].steady.duration=$du" --set "phases[0].steady.rate=$rate" \
		--set "phases[0].steady.workers=$workers" --set "phases[0].steady.connections=$conns" >&2
	grep -o '"throughput": [0-9.]*' "$dir"/runs/*_"$name"/load/steady.json | awk '{print $2}'
}
run_vegeta() {
	local name=$1 r=$2
	echo "GET http://$addr/" | timeout "$bound" "$BIN/vegeta" attack -rate "$r" -workers "$workers" -max-workers "$conns" \
		-connections "$conns" -max-connections "$conns" -duration "$du" -output "$dir/$name.bin"
	"$BIN/vegeta" report -type json "$dir/$name.bin" | grep -o '"throughput":[0-9.]*' | cut -d: -f2
}

for i in $(seq "$rounds"); do
	order=(soak vegeta vegeta0)
	# Rotate, so no tool always runs first (or last) on a warming machine.
	for k in $(seq 0 2); do
		tool=${order[$(((k + i) % 3))]}
		case $tool in
		soak) rps=$(run_soak "r$i") ;;
		vegeta) rps=$(run_vegeta "vegeta-r$i" "$rate") ;;
		vegeta0) rps=$(run_vegeta "vegeta0-r$i" 0) ;;
		esac
		echo "load round=$i tool=$tool rps=$rps"
	done
done
