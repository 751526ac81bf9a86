#!/usr/bin/env bash
# The build steps of deploy/Dockerfile, one function per step. The Dockerfile RUNs these, and
# deploy/scripts/build-image-without-docker.sh runs the same functions into a staging directory, so the two
# cannot drift apart: what is validated without a container engine is the code the image build executes.
#
# Usage: image-steps.sh STEP [ARGS...]
#   runtime-packages          apt-get install the runtime's Debian packages (image only: needs root and apt)
#   check-packages            verify those packages are installed (the no-Docker build uses this instead)
#   user                      create the non-root user tfmq (uid/gid 10001)
#   build-jar SRC             mvn package in SRC -> SRC/harness/target/tfmq.jar
#   layout SRC JAR PREFIX     lay out the runtime tree under PREFIX (jar, models, configs, launcher)
#   dirs PREFIX DATA OWNER    create the writable dirs (natives cache, data) owned by OWNER (uid[:gid])
#   natives PREFIX            extract the JavaCPP natives into PREFIX/natives by running a tiny command
#   smoke PREFIX              run `model info` from the laid-out tree and check its output
set -euo pipefail

# Debian package names, shared by the apt-get step and the check the no-Docker build does.
RUNTIME_PACKAGES=(
  openjdk-17-jre-headless  # JRE only; includes the jdk.incubator.vector module the kernels use
  dataset-fashion-mnist    # real images behind the reference statistics (FID/sFID and KID features)
)

step_runtime_packages() {
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${RUNTIME_PACKAGES[@]}"
  # keep the layer small: the lists are not needed at run time
  rm -rf /var/lib/apt/lists/*
}

step_check_packages() {
  local p missing=0
  for p in "${RUNTIME_PACKAGES[@]}"; do
    if dpkg -s "$p" >/dev/null 2>&1; then
      echo "package $p: $(dpkg-query -W -f='${Version}' "$p")"
    else
      echo "package $p: MISSING (apt-get install $p)" >&2
      missing=1
    fi
  done
  return "$missing"
}

step_user() {
  groupadd --system --gid 10001 tfmq
  # home is the data dir so nothing (JavaCPP, JVM perf data) tries to write under a root-owned path
  useradd --system --uid 10001 --gid tfmq --home-dir /data --no-create-home --shell /usr/sbin/nologin tfmq
}

step_build_jar() {
  local src=$1
  # -DskipTests: the image build is not the place for the suite (CI runs it); package only, never install
  # MVN_FLAGS is a list of flags (e.g. "-o -q"), split on purpose
  # shellcheck disable=SC2086
  (cd "$src" && mvn -B -ntp ${MVN_FLAGS:-} -DskipTests package -pl harness -am)
  test -s "$src/harness/target/tfmq.jar"
}

step_layout() {
  local src=$1 jar=$2 prefix=$3
  install -d "$prefix/bin" "$prefix/lib"
  install -m 0644 "$jar" "$prefix/lib/tfmq.jar"
  # bundled models and configs: tfmq.home must contain models/, and run configs include their neighbours
  cp -R "$src/models" "$prefix/models"
  cp -R "$src/configs" "$prefix/configs"
  install -m 0755 "$src/deploy/docker/tfmq" "$prefix/bin/tfmq"
  # the launcher finds the tree relative to itself, so a staged prefix works as well as /opt/tfmq
  find "$prefix/models" "$prefix/configs" -type d -exec chmod 0755 {} +
  find "$prefix/models" "$prefix/configs" -type f -exec chmod 0644 {} +
}

step_dirs() {
  local prefix=$1 data=$2 owner=$3
  install -d -m 0755 "$prefix/natives" "$data"
  chown "$owner" "$prefix/natives" "$data"
}

step_natives() {
  local prefix=$1
  # Loading a model initialises ND4J, which makes JavaCPP unpack every native library (ND4J, oneDNN, OpenBLAS)
  # into the cache dir; doing it here means containers start without a few hundred MB of extraction.
  "$prefix/bin/tfmq" model info --model fmnist-ddpm >/dev/null
  local n
  n=$(find "$prefix/natives" -name '*.so*' | wc -l)
  echo "natives cache: $n shared libraries, $(du -sh "$prefix/natives" | cut -f1) in $prefix/natives"
  ((n > 0))
}

step_smoke() {
  local prefix=$1 out
  out=$("$prefix/bin/tfmq" model info --model fmnist-ddpm)
  printf '%s\n' "$out" | head -6
  grep -q '^parameters' <<<"$out"
}

step=${1:?usage: image-steps.sh STEP [ARGS...]}
shift
"step_${step//-/_}" "$@"
