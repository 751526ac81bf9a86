#!/usr/bin/env bash
# The README's two set-up commands as a newcomer meets them: a fresh clone in a temp folder, a fresh HOME (empty
# ~/.m2 and natives cache) and /usr/share/datasets hidden. Run as root from the repository:
#   unshare -m sh -c 'mount -t tmpfs none /usr/share/datasets && tools/fresh_machine_check.sh'
# Prints the exit code and wall time of each command; outputs stay in the temp folder it names.
set -u
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/tfmq-fresh.XXXXXX)"
git clone -q "$repo" "$work/repo" && cd "$work/repo" || exit 2
mkdir -p "$work/home"
export HOME="$work/home"
unset TFMQ_FASHION_MNIST_DIR TFMQ_HOME
timed() {
  local name=$1; shift
  local s; s=$(date +%s)
  "$@" > "$work/$name.out" 2> "$work/$name.err"
  echo "$name: exit $? in $(( $(date +%s) - s )) s (output: $work/$name.out, $work/$name.err)"
}
timed quickstart ./tfmq quickstart
timed quickstart-cached ./tfmq quickstart --run-dir runs/second
timed verify mvn -B -ntp verify
