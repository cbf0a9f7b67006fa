#!/usr/bin/env bash
# make run: set-up and build, then a throwaway local PostgreSQL with gencontrol installed and
# gencontrol-http on 127.0.0.1:1234. Both keep running; `make stop` (run.sh stop) ends them.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${GENCONTROL_PG_PORT:-15432}
LISTEN=${GENCONTROL_LISTEN:-127.0.0.1:1234}
DB=gencontrol
export GENCONTROL_CLUSTERS=${GENCONTROL_CLUSTERS:-/tmp/gencontrol-clusters-run}
state=$GENCONTROL_CLUSTERS/run-state
sock=$GENCONTROL_CLUSTERS/local/sock
conninfo="host=$sock port=$PORT dbname=$DB user=postgres"

stop() {
  if [[ -f $state/shim.pid ]]; then
    kill "$(cat "$state/shim.pid")" 2>/dev/null || true
    rm -f "$state/shim.pid"
  fi
  /usr/bin/python3 scripts/pgcluster.py stop local 2>/dev/null || true
}

if [[ ${1:-} == stop ]]; then
  stop
  echo "stopped the local cluster and gencontrol-http"
  exit 0
fi

scripts/bootstrap.sh
scripts/build.sh
stop
/usr/bin/python3 scripts/pgcluster.py start local "$PORT" --db "$DB" --extension gencontrol >/dev/null
mkdir -p "$state"

shim_line="gencontrol-http was not built (build/gencontrol-http missing)"
if [[ -x build/gencontrol-http ]]; then
  nohup build/gencontrol-http --listen "$LISTEN" --database-url "$conninfo" \
    >"$state/shim.log" 2>&1 </dev/null &
  echo $! >"$state/shim.pid"
  for _ in $(seq 1 50); do
    curl -fsS "http://$LISTEN/status" >/dev/null 2>&1 && break
    sleep 0.1
  done
  shim_line="gencontrol-http on http://$LISTEN (log: $state/shim.log)"
fi

cat <<MSG

gencontrol is running:
  PostgreSQL 15 with gencontrol in database '$DB' (socket $sock, port $PORT)
  $shim_line

Connect:
  psql -h $sock -p $PORT -U postgres $DB

Try, at the psql prompt:
  SET search_path = gencontrol, public;
  SELECT node_register(1, 'pageserver-1', 9898, 'pageserver-1', 6400);
  SELECT gen_attach('072f1291a5310026820b2fe4b2968934-0102', 1);
  SELECT gen_validate('072f1291a5310026820b2fe4b2968934-0102', 1);
  SELECT * FROM gen_re_attach(1);

Try over HTTP (pageserver 2 registers and re-attaches, then an attach to it and a validate):
  curl -s -X POST http://$LISTEN/upcall/v1/re-attach -d '{"node_id": 2, "register": {"node_id": 2, "listen_pg_addr": "localhost", "listen_pg_port": 6400, "listen_http_addr": "localhost", "listen_http_port": 9898, "availability_zone_id": "local"}}'
  curl -s -X POST http://$LISTEN/debug/v1/attach-hook -d '{"tenant_shard_id": "072f1291a5310026820b2fe4b2968934", "node_id": 2}'
  curl -s -X POST http://$LISTEN/upcall/v1/validate -d '{"tenants": [{"id": "072f1291a5310026820b2fe4b2968934", "gen": 1}]}'

Stop with: make stop
MSG
