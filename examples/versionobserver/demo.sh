#!/usr/bin/env bash
# Starts three nodes of the version observer on loopback with the static
# provider, prints their pages, and stops them all cleanly on Ctrl-C.
# Run by `make demo`; VSN=1.0.0 make demo starts them at another version.
# Usage: demo.sh BINARY
set -u
bin=${1:?usage: demo.sh BINARY}
vsn=${VSN:-0.1.0}
names=(n1 n2 n3)
cports=(7101 7102 7103)
hports=(4001 4002 4003)
pids=()

stop() {
	trap - INT TERM
	echo
	echo "stopping the nodes..."
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	code=0
	for p in "${pids[@]}"; do wait "$p" || code=1; done
	echo "all nodes stopped"
	exit "$code"
}
trap stop INT TERM

for i in 0 1 2; do
	peers=()
	for j in 0 1 2; do
		[ "$j" = "$i" ] || peers+=("${names[j]}@127.0.0.1:${cports[j]}")
	done
	"$bin" -name "${names[i]}" -listen "127.0.0.1:${cports[i]}" -http "127.0.0.1:${hports[i]}" \
		-peers "$(IFS=,; echo "${peers[*]}")" -vsn "$vsn" 2>"/tmp/versionobserver-${names[i]}.log" &
	pids+=($!)
done

echo "three nodes at $vsn; logs in /tmp/versionobserver-n{1,2,3}.log"
for i in 0 1 2; do
	echo "  ${names[i]}: http://127.0.0.1:${hports[i]}/   (status: http://127.0.0.1:${hports[i]}/status)"
done
echo "Ctrl-C stops them all. examples/versionobserver/README.md shows a rolling deploy."
# Ctrl-C in a terminal reaches the nodes too (they share its process
# group) and each stops cleanly on its own; the trap covers a SIGTERM or
# SIGINT sent to this script alone.
code=0
for p in "${pids[@]}"; do wait "$p" || code=1; done
echo "all nodes stopped"
exit "$code"
