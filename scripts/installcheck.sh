#!/usr/bin/env bash
# make installcheck: the pgTAP suite against a server that is already running and already has
# gencontrol, pgtap and dblink available, named by the usual libpq variables (PGHOST, PGPORT,
# PGUSER, PGPASSWORD, ...). Installs no files and needs no root: it creates a scratch database,
# runs pg_prove there and drops it, so the suite's leftovers never land in a real database.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg_env.sh

db=${GENCONTROL_INSTALLCHECK_DB:-gencontrol_installcheck}
# PGDATABASE names the database to connect to for CREATE/DROP DATABASE, not the one tested.
admin_db=${PGDATABASE:-postgres}
unset PGDATABASE
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At)

fail() {
  echo "installcheck: $*" >&2
  exit 1
}

server=$("${psql[@]}" -d "$admin_db" -c "SELECT current_setting('server_version_num')::int / 10000 || ' as ' || current_user" 2>&1) ||
  fail "cannot connect (PGHOST=${PGHOST:-default} PGPORT=${PGPORT:-default} PGUSER=${PGUSER:-$(id -un)}): $server"
# The suite creates roles, changes database settings and reads pg_stat_activity of other sessions.
[[ $("${psql[@]}" -d "$admin_db" -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == t ]] ||
  fail "the role ${server#* as } is not a superuser; the suite needs one"
missing=$("${psql[@]}" -d "$admin_db" -c "SELECT string_agg(e, ', ') FROM unnest(ARRAY['gencontrol', 'pgtap', 'dblink']) e
                                           WHERE e NOT IN (SELECT name FROM pg_available_extensions)")
[[ -z $missing ]] || fail "the server has no $missing extension installed (make install, or the packages)"

"${psql[@]}" -d "$admin_db" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap '"${psql[@]}" -d "$admin_db" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
for ext in pgtap dblink gencontrol; do
  "${psql[@]}" -d "$db" -c "CREATE EXTENSION $ext"
done
echo "installcheck: PostgreSQL ${server%% as *}, gencontrol $("${psql[@]}" -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'gencontrol'"), database $db"

# The durability test's control run shows an asynchronous commit unflushed; a short
# wal_writer_delay may flush it before the test looks (make test's cluster uses 10s).
delay=$("${psql[@]}" -d "$db" -c "SELECT setting::int FROM pg_settings WHERE name = 'wal_writer_delay'")
if ((delay < 10000)); then
  echo "installcheck: note: wal_writer_delay is ${delay}ms; 09_durability's control run expects 10s or more" >&2
fi

# dblink_sessions.psql opens second sessions through the server's own socket as the same role.
PGDATABASE=$db pg_prove --psql-bin "$PG_BIN/psql" --ext .sql -r test/pgtap
