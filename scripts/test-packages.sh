#!/usr/bin/env bash
# The package test: builds the Debian packages (scripts/deb.sh), installs them with dpkg -i into
# the system PostgreSQL in place of any `make install` copies, runs the pgTAP suite on the
# packaged extension in a fresh cluster, smoke-tests the packaged shim and node, builds a
# program against the client library's dev package, verifies the systemd unit, runs lintian. On exit it purges the packages and puts back the copies it removed,
# so suites that run before or after it in the same `make test` find what make install left.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PORT=15960            # integration tests use 15441-15759, e2e 15700-15899
SHIM=127.0.0.1:15963
NODE=127.0.0.1:15964
out=${DEB_DIR:-$root/build/deb}
work=$(mktemp -d /tmp/gencontrol-packages.XXXXXX)
chmod 755 "$work"  # the clusters below it run as postgres
export GENCONTROL_CLUSTERS=$work/clusters
export DEBIAN_FRONTEND=noninteractive
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi

failures=0
check() {  # check DESCRIPTION COMMAND...: runs it, prints ok/not ok, counts failures
  local what=$1
  shift
  if "$@" >"$work/last.log" 2>&1; then
    echo "ok - $what"
  else
    echo "not ok - $what"
    sed 's/^/    /' "$work/last.log" | tail -n 40
    failures=$((failures + 1))
  fi
}

# dpkg refuses to run while another apt or dpkg holds its lock (a colleague's bootstrap): wait.
dpkg_retry() {
  local i
  for i in $(seq 1 120); do
    if "${sudo[@]}" dpkg "$@" 2>"$work/dpkg.err"; then return 0; fi
    grep -q 'lock' "$work/dpkg.err" || { cat "$work/dpkg.err" >&2; return 1; }
    sleep 5
  done
  cat "$work/dpkg.err" >&2
  return 1
}

versions=$(pg_buildext supported-versions)
# Every binary package debian/control names (postgresql-NN-gencontrol for each version).
mapfile -t packages < <(sed -n 's/^Package: //p' debian/control)

# --- what `make install` left in the system PostgreSQL: set aside now, put back at the end ---
saved=$work/make-install.tar
make_install_files() {
  local v lib share f
  for v in $versions; do
    lib=$(/usr/lib/postgresql/"$v"/bin/pg_config --pkglibdir)
    share=$(/usr/lib/postgresql/"$v"/bin/pg_config --sharedir)
    for f in "$lib"/gencontrol.so "$lib"/bitcode/gencontrol.index.bc "$lib"/bitcode/gencontrol \
             "$share"/extension/gencontrol.control "$share"/extension/gencontrol--*.sql; do
      # Only files no package owns: those are make install's.
      [[ -e $f ]] && ! dpkg -S "$f" >/dev/null 2>&1 && echo "$f"
    done
  done
  return 0
}

shim_pid=""
node_pid=""
restore() {
  set +e
  [[ -n $node_pid ]] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  [[ -n $shim_pid ]] && kill "$shim_pid" 2>/dev/null && wait "$shim_pid" 2>/dev/null
  /usr/bin/python3 scripts/pgcluster.py stop-all >/dev/null 2>&1
  local installed=()
  for p in "${packages[@]}" "${packages[@]/%/-dbgsym}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] && installed+=("$p")
  done
  ((${#installed[@]})) && dpkg_retry --purge "${installed[@]}" >/dev/null
  [[ -s $saved ]] && "${sudo[@]}" tar -C / -xpf "$saved"
  rm -rf "$work"
}
trap restore EXIT INT TERM

start=$SECONDS
# make test builds the packages in the background while the other suites run and sets
# GENCONTROL_DEBS_BUILT once that build has succeeded; run alone, this script builds them.
if [[ -n ${GENCONTROL_DEBS_BUILT:-} ]]; then
  echo "==> the packages were built while the other suites ran ($GENCONTROL_DEBS_BUILT)"
else
  echo "==> building the packages (scripts/deb.sh)"
  scripts/deb.sh
fi
built=$SECONDS
debs=()
for p in "${packages[@]}"; do debs+=("$out/${p}_"*"_$(dpkg --print-architecture).deb"); done

echo "==> lintian"
# Findings that are deliberate are overridden, with the reason, in debian/*.lintian-overrides.
check "lintian: no errors or warnings" lintian --fail-on error,warning --tag-display-limit 0 "${debs[@]}"
cat "$work/last.log"

echo "==> installing with dpkg -i"
mapfile -t copies < <(make_install_files)
if ((${#copies[@]})); then
  "${sudo[@]}" tar -C / -cpf "$saved" "${copies[@]#/}"
  "${sudo[@]}" rm -f "${copies[@]}"
  echo "set aside ${#copies[@]} files of make install"
fi
dpkg_retry -i "${debs[@]}" >"$work/dpkg.log"
check "packages installed" dpkg-query -W "${packages[@]}"

for v in $versions; do
  share=$(/usr/lib/postgresql/"$v"/bin/pg_config --sharedir)
  # Every install and upgrade script of the tree is in the package, and from the package.
  for f in sql/gencontrol--*.sql; do
    check "postgresql-$v-gencontrol ships $(basename "$f")" \
      bash -c "dpkg -S '$share/extension/$(basename "$f")' | grep -q '^postgresql-$v-gencontrol:' &&
               cmp '$f' '$share/extension/$(basename "$f")'"
  done
  check "postgresql-$v-gencontrol ships gencontrol.so and the control file" \
    dpkg -S "$(/usr/lib/postgresql/"$v"/bin/pg_config --pkglibdir)/gencontrol.so" "$share/extension/gencontrol.control"
done

unit=$(dpkg -L gencontrol-http | grep '/gencontrol-http\.service$')
check "gencontrol-http ships its unit, default configuration and manual page" \
  test -f "$unit" -a -f /etc/default/gencontrol-http -a -f /usr/share/man/man1/gencontrol-http.1.gz
check "the system user gencontrol-http exists" id gencontrol-http
# Offline: it loads the unit, checks its directives, its ExecStart binary and its user.
check "systemd-analyze verify $(basename "$unit")" systemd-analyze verify "$unit"
check "the unit reads /etc/default/gencontrol-http, restarts on failure, is hardened" \
  bash -c "grep -qx 'EnvironmentFile=-/etc/default/gencontrol-http' '$unit' && grep -qx 'Restart=on-failure' '$unit' &&
           grep -qx 'User=gencontrol-http' '$unit' && grep -qx 'NoNewPrivileges=yes' '$unit' &&
           grep -qx 'ProtectSystem=strict' '$unit'"

if [[ " ${packages[*]} " == *" libgencontrol-client-dev "* ]]; then
  # A program outside the tree builds against the installed headers and library through
  # pkg-config alone, and computes a key of the remote layout.
  cat >"$work/layout.cpp" <<'CPP'
#include <gencontrol/remote_layout.hpp>
#include <iostream>
int main() {
    std::cout << gencontrol::client::index_key("072f1291a5310026820b2fe4b2968934",
                                               "0123456789abcdef0123456789abcdef", 10) << "\n";
}
CPP
  check "libgencontrol-client-dev: a program builds with pkg-config gencontrol-client" \
    bash -c "g++ \$(pkg-config --cflags gencontrol-client) -o '$work/layout' '$work/layout.cpp' \$(pkg-config --libs gencontrol-client)"
  check "libgencontrol-client-dev: the program computes Neon's index key" bash -c "
    [[ \$('$work/layout') == tenants/072f1291a5310026820b2fe4b2968934/timelines/0123456789abcdef0123456789abcdef/index_part.json-0000000a ]]"
fi

echo "==> pgTAP on the packaged extension"
for v in $versions; do
  sys_pg_config=/usr/lib/postgresql/$v/bin/pg_config
  # The same server settings as make test's pgTAP cluster (see scripts/test.sh).
  PG_CONFIG=$sys_pg_config PG_BIN= /usr/bin/python3 scripts/pgcluster.py start packages "$PORT" \
    --conf wal_writer_delay=10000 --conf wal_writer_flush_after=1GB --conf autovacuum=off >/dev/null
  sock=$GENCONTROL_CLUSTERS/packages/sock
  if PG_CONFIG=$sys_pg_config PG_BIN= PGHOST=$sock PGPORT=$PORT PGUSER=postgres scripts/installcheck.sh; then
    echo "ok - pgTAP suite on postgresql-$v-gencontrol"
  else
    echo "not ok - pgTAP suite on postgresql-$v-gencontrol"
    failures=$((failures + 1))
  fi

  echo "==> the packaged shim, as its unit runs it"
  psql=("/usr/lib/postgresql/$v/bin/psql" -X -q -At -h "$sock" -p "$PORT" -U postgres)
  "${psql[@]}" -d postgres -c "CREATE DATABASE gencontrol_packages"
  "${psql[@]}" -d gencontrol_packages -c "CREATE EXTENSION gencontrol" \
    -c 'CREATE ROLE "gencontrol-http" LOGIN IN ROLE gencontrol_controller'
  ( set -a; source /etc/default/gencontrol-http; set +a
    exec "${sudo[@]}" runuser -u gencontrol-http -- env GENCONTROL_LISTEN=$SHIM \
      GENCONTROL_DATABASE_URL="host=$sock port=$PORT dbname=gencontrol_packages user=gencontrol-http" \
      /usr/bin/gencontrol-http $GENCONTROL_HTTP_ARGS ) >"$work/shim.log" 2>&1 &
  shim_pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://$SHIM/status" >/dev/null 2>&1 && break; sleep 0.1; done
  check "/usr/bin/gencontrol-http as user gencontrol-http: ready" curl -fsS "http://$SHIM/ready"
  check "re-attach with register, attach-hook, validate" bash -c "
    curl -fsS -X POST http://$SHIM/upcall/v1/re-attach -d '{\"node_id\": 1, \"register\": {\"node_id\": 1,
      \"listen_pg_addr\": \"h\", \"listen_pg_port\": 6400, \"listen_http_addr\": \"h\", \"listen_http_port\": 9898,
      \"availability_zone_id\": \"a\"}}' &&
    curl -fsS -X POST http://$SHIM/debug/v1/attach-hook \
      -d '{\"tenant_shard_id\": \"072f1291a5310026820b2fe4b2968934\", \"node_id\": 1}' | grep -q '\"gen\":1' &&
    curl -fsS -X POST http://$SHIM/upcall/v1/validate \
      -d '{\"tenants\": [{\"id\": \"072f1291a5310026820b2fe4b2968934\", \"gen\": 1}]}' | grep -q '\"valid\":true'"
  if [[ " ${packages[*]} " == *" gencontrol-node "* ]]; then
    # The packaged node registers and re-attaches through the packaged shim, then serves its
    # tenant routes (503 until start-up is done; an unknown tenant is 404 after it).
    mkdir -p "$work/node/workdir" "$work/node/store"
    /usr/bin/gencontrol-node --node-id 2 --listen "$NODE" --workdir "$work/node/workdir" \
      --remote-storage "$work/node/store" --control-plane-api "http://$SHIM/upcall/v1/" \
      >"$work/node.log" 2>&1 &
    node_pid=$!
    check "/usr/bin/gencontrol-node starts up through the packaged shim" bash -c "
      for _ in \$(seq 1 300); do
        code=\$(curl -s -o /dev/null -w '%{http_code}' http://$NODE/v1/tenant/072f1291a5310026820b2fe4b2968934)
        [[ \$code == 404 ]] && break
        sleep 0.1
      done
      [[ \$code == 404 ]] && [[ \$(${psql[*]} -d gencontrol_packages -c 'SELECT count(*) FROM gencontrol.nodes WHERE node_id = 2') == 1 ]]"
    kill "$node_pid" && wait "$node_pid" || true
    node_pid=""
  fi
  kill "$shim_pid" && wait "$shim_pid" || true
  shim_pid=""
  /usr/bin/python3 scripts/pgcluster.py stop packages >/dev/null 2>&1 || true
done

echo
if [[ -n ${GENCONTROL_DEBS_BUILT:-} ]]; then
  echo "packages: built in the background, tested in $((SECONDS - built)) s"
else
  echo "packages: built in $((built - start)) s, tested in $((SECONDS - built)) s"
fi
if ((failures)); then
  echo "packages: $failures failed"
  exit 1
fi
echo "packages: all checks passed"
