#!/usr/bin/env bash
# Runs the build steps of deploy/Dockerfile as a plain script, for machines without a container engine:
# the same deploy/docker/image-steps.sh functions, with /opt/tfmq and /data replaced by a staging directory.
#
#   deploy/scripts/build-image-without-docker.sh [STAGE_DIR]     (default: a new temporary directory)
#
# Environment: TFMQ_JAR=path  reuse an already built shaded jar instead of running `mvn package`
#              MVN_FLAGS=-o   extra Maven flags (e.g. offline)
#
# What differs from the image, and why:
#  - runtime-packages (apt-get) and user (useradd) change the host, so they are replaced by check-packages and by
#    the existing unprivileged user 'nobody' (when run as root); natives extraction and the smoke run execute as
#    that user, which proves the laid-out tree works for a non-root owner of only natives/ and data/.
#  - stage 1's toolchain is this machine's JDK and Maven instead of Debian's packages in the build container.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
steps="$repo/deploy/docker/image-steps.sh"
stage="${1:-$(mktemp -d /tmp/tfmq-image.XXXXXX)}"
mkdir -p "$stage"
prefix="$stage/opt/tfmq"
data="$stage/data"

# the Dockerfile must still call exactly the steps this script mirrors
expected="build-jar layout runtime-packages user dirs natives"
actual="$(grep -v '^[[:space:]]*#' "$repo/deploy/Dockerfile" | grep -o 'image-steps.sh [a-z-]*' | awk '{print $2}' | xargs)"
if [[ "$actual" != "$expected" ]]; then
  echo "deploy/Dockerfile runs steps '$actual', this script mirrors '$expected': update one of them" >&2
  exit 1
fi

as_runtime_user=()
owner="$(id -u):$(id -g)"
if [[ $(id -u) -eq 0 ]]; then
  owner="$(id -u nobody):$(id -g nobody)"
  as_runtime_user=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --reset-env)
  # nobody has to reach the staged tree through its parents
  chmod 0755 "$stage"
fi

echo "== [runtime] check-packages (the image apt-get installs these)"
bash "$steps" check-packages
echo "== [build] build-jar"
if [[ -n "${TFMQ_JAR:-}" ]]; then
  jar="$TFMQ_JAR"
  echo "using prebuilt $jar"
else
  bash "$steps" build-jar "$repo"
  jar="$repo/harness/target/tfmq.jar"
fi
echo "== [build] layout -> $prefix"
rm -rf "$prefix"
bash "$steps" layout "$repo" "$jar" "$prefix"
echo "== [runtime] dirs (owner $owner)"
bash "$steps" dirs "$prefix" "$data" "$owner"
echo "== [runtime] natives (as $(if ((${#as_runtime_user[@]})); then echo nobody; else id -un; fi))"
# HOME as in the image (the user's home is the data dir); nothing may fall back to a root-owned ~/.javacpp
"${as_runtime_user[@]}" env HOME="$data" PATH="$PATH" bash "$steps" natives "$prefix"
echo "== smoke: model info from the staged tree"
marker="$stage/.before-smoke"
touch "$marker"
sleep 1  # mtime granularity: anything JavaCPP rewrites during the smoke run must look newer than the marker
(cd "$data" && "${as_runtime_user[@]}" env HOME="$data" PATH="$PATH" bash "$steps" smoke "$prefix")
# a container start must reuse the baked cache, not unpack the libraries again
rewritten="$(find "$prefix/natives" -type f -newer "$marker" | wc -l)"
echo "natives rewritten by the smoke run: $rewritten"
((rewritten == 0))
echo "== staged image tree"
du -sh "$prefix/lib" "$prefix/models" "$prefix/configs" "$prefix/natives"
echo "OK: image steps ran into $stage"
