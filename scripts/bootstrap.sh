#!/usr/bin/env bash
# Installs the Debian packages gencontrol builds, runs and tests with, and only those missing.
# Safe to run again: it does nothing (and needs no network) once everything is there.
set -euo pipefail

packages=(
  # build
  make g++ cmake pkg-config git
  postgresql-15 postgresql-server-dev-15 libpq-dev
  libcpp-httplib-dev nlohmann-json3-dev libfmt-dev libssl-dev libboost-dev
  libcurl4-openssl-dev
  # tests
  postgresql-15-pgtap pgtap libgtest-dev googletest
  python3 python3-psycopg2 python3-yaml curl openssl clang libclang-rt-14-dev
  iproute2  # ip netns and veth links for the partition tests
  # failover and benchmarks
  patroni etcd-server wrk gnuplot-nox valgrind
  # Debian packages (make deb; the package test: lintian, systemd-analyze), promtool (alert rules)
  debhelper postgresql-server-dev-all dpkg-dev fakeroot lintian systemd prometheus
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq -o DPkg::Lock::Timeout=600
# Debian's postgresql-common would create and start a 'main' cluster on 5432; gencontrol
# runs its own throwaway clusters, so it asks for none.
"${sudo[@]}" mkdir -p /etc/postgresql-common
if [[ ! -e /etc/postgresql-common/createcluster.conf ]] ||
   ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' | "${sudo[@]}" tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
# Another apt run (unattended upgrades, a second checkout bootstrapping) holds the lock for a
# while: wait for it rather than fail.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" </dev/null
