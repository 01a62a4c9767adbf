#!/usr/bin/env bash
# callgrind_workloads.sh: instructions (callgrind, all threads) of the churn and
# containers workloads, plain and under each given preload and options, and each
# configuration's ratio to plain. Instruction counts repeat from run to run (up to
# which allocations a sampled run picks), so two preloads compare on a busy machine,
# where wall times do not; they miss what locked instructions and cache misses cost.
#   usage: bench/callgrind_workloads.sh BUILD NAME=PRELOAD.so:OPTIONS...
#   e.g.   bench/callgrind_workloads.sh build before=/tmp/old.so:mode=sampled \
#            after=build/lib/libheapwarden_preload.so:mode=sampled
set -euo pipefail
bin=$(realpath "$1")/bin; shift
dir=$(mktemp -d /tmp/callgrind_workloads.XXXXXX)
trap 'rm -rf "$dir"' EXIT
declare -A work=(
  [churn-1t]="$bin/heapwarden_work_churn --threads 1 --ops 600000"
  [churn-2t]="$bin/heapwarden_work_churn --threads 2 --ops 300000"
  [containers]="$bin/heapwarden_work_containers --iters 1000"
)
total() { grep -o 'summary: [0-9]*' "$1" | grep -o '[0-9]*'; }
for w in churn-1t churn-2t containers; do
  # shellcheck disable=SC2086  # the command line is split on purpose
  valgrind --tool=callgrind --callgrind-out-file="$dir/plain" ${work[$w]} >/dev/null 2>&1
  plain=$(total "$dir/plain")
  line="$w plain $plain"
  for config in "$@"; do
    name=${config%%=*}; rest=${config#*=}; preload=$(realpath "${rest%%:*}"); opts=${rest#*:}
    [[ $rest == *:* ]] || opts=""
    LD_PRELOAD=$preload HEAPWARDEN_OPTIONS="output=$dir/r.%p.json:symbolize=0:summary=0${opts:+:$opts}" \
      valgrind --tool=callgrind --callgrind-out-file="$dir/$name" ${work[$w]} >/dev/null 2>&1
    n=$(total "$dir/$name")
    line="$line | $name $n ($(python3 -c "print('%.3f' % ($n / $plain))"))"
  done
  echo "$line"
done
