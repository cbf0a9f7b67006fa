#!/usr/bin/env bash
# The upgrade test: a database with gencontrol 1.0 and data (load_1_0.sql), ALTER EXTENSION
# gencontrol UPDATE, check_upgrade.sql, then the whole pgTAP suite against the updated database;
# before that, v1_0_layout.sql in a scratch database at 1.0.
#   run.sh SOCKET_DIR PORT FRESH_DB   (FRESH_DB: a database on that server with a fresh 1.1)
set -euo pipefail
cd "$(dirname "$0")/../.."
sock=$1 port=$2 fresh=$3 db=gencontrol_upgraded
psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres)
# First the 1.0 statements the library keeps for a database not yet updated, in a scratch one.
"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS gencontrol_v1_0" -c "CREATE DATABASE gencontrol_v1_0" 2>/dev/null
"${psql[@]}" -d gencontrol_v1_0 -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink" \
  -c "CREATE EXTENSION gencontrol VERSION '1.0'"
PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=error" \
  pg_prove -h "$sock" -p "$port" -U postgres -d gencontrol_v1_0 test/upgrade/v1_0_layout.sql
"${psql[@]}" -d postgres -c "DROP DATABASE gencontrol_v1_0"
"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
"${psql[@]}" -d "$db" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION dblink" \
  -c "CREATE EXTENSION gencontrol VERSION '1.0'"
"${psql[@]}" -d "$db" -f test/upgrade/load_1_0.sql >/dev/null 2>&1
"${psql[@]}" -d "$db" -c "ALTER EXTENSION gencontrol UPDATE"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=error"
pg_prove -h "$sock" -p "$port" -U postgres -d "$db" --set fresh="$fresh" test/upgrade/check_upgrade.sql
pg_prove -h "$sock" -p "$port" -U postgres -d "$db" --ext .sql -r test/pgtap
