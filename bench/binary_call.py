#!/usr/bin/python3
"""Batch validate measured the way the shim calls it: one prepared statement, the ids and
generations sent as binary arrays and the answer read in binary (libpq through ctypes, since
pgbench can only send text). Reports the median wall time of a call and the backend's CPU per call.

    bench/binary_call.py CONNINFO IDS_FILE [REPS]     (IDS_FILE: one "id generation" per line)
prints, for gencontrol's gen_validate and for the unnest join on bench.plain_shards (given its
ids as a binary text[]), the median ms per call and the backend CPU ms per call.
"""
import ctypes
import os
import statistics
import struct
import sys
import time

PGRES_TUPLES_OK = 2
INT4_OID, INT4_ARRAY_OID, TEXT_OID, TEXT_ARRAY_OID = 23, 1007, 25, 1009

# The shim's statement (src/http/pool.cpp), and the best plain SQL plan bench.py measures.
GENCONTROL_SQL = ("SELECT v.tenant, v.valid FROM gencontrol.gen_validate($1::gencontrol.tenant_shard_id[], "
                  "$2::integer[]) AS v(tenant, valid)")
UNNEST_SQL = ("SELECT u.id, p.generation = u.generation AS valid "
              "FROM unnest($1::text[], $2::integer[]) WITH ORDINALITY AS u(id, generation, ord) "
              "JOIN bench.plain_shards p ON p.id = u.id AND p.deleted_at IS NULL ORDER BY u.ord")


def _libpq():
    lib = ctypes.CDLL("libpq.so.5")
    lib.PQconnectdb.restype = ctypes.c_void_p
    lib.PQconnectdb.argtypes = [ctypes.c_char_p]
    lib.PQstatus.argtypes = [ctypes.c_void_p]
    lib.PQerrorMessage.restype = ctypes.c_char_p
    lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
    lib.PQbackendPID.argtypes = [ctypes.c_void_p]
    lib.PQfinish.argtypes = [ctypes.c_void_p]
    lib.PQexec.restype = ctypes.c_void_p
    lib.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.PQprepare.restype = ctypes.c_void_p
    lib.PQprepare.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
    lib.PQexecPrepared.restype = ctypes.c_void_p
    lib.PQexecPrepared.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.PQresultStatus.argtypes = [ctypes.c_void_p]
    lib.PQresultErrorMessage.restype = ctypes.c_char_p
    lib.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
    lib.PQntuples.argtypes = [ctypes.c_void_p]
    lib.PQgetvalue.restype = ctypes.c_char_p
    lib.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.PQclear.argtypes = [ctypes.c_void_p]
    return lib


def binary_array(element_oid, elements):
    """PostgreSQL's binary array: ndim, has-NULLs, element type, length, lower bound, elements."""
    parts = [struct.pack("!iiIii", 1, 0, element_oid, len(elements), 1)]
    for e in elements:
        parts.append(struct.pack("!i", len(e)))
        parts.append(e)
    return b"".join(parts)


def tenant_shard_id_bytes(text):
    """The type's binary form: the 16 tenant bytes, then shard number and count."""
    tenant, _, shard = text.partition("-")
    return bytes.fromhex(tenant) + (bytes.fromhex(shard) if shard else b"\0\0")


def backend_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Connection:
    def __init__(self, conninfo):
        self.lib = _libpq()
        self.conn = self.lib.PQconnectdb(conninfo.encode())
        if self.lib.PQstatus(self.conn) != 0:
            raise RuntimeError(self.lib.PQerrorMessage(self.conn).decode())
        self.pid = self.lib.PQbackendPID(self.conn)

    def scalar(self, sql):
        res = self.lib.PQexec(self.conn, sql.encode())
        try:
            if self.lib.PQresultStatus(res) != PGRES_TUPLES_OK:
                raise RuntimeError(self.lib.PQresultErrorMessage(res).decode())
            return self.lib.PQgetvalue(res, 0, 0).decode()
        finally:
            self.lib.PQclear(res)

    def prepare(self, name, sql):
        res = self.lib.PQprepare(self.conn, name.encode(), sql.encode(), 0, None)
        self.lib.PQclear(res)

    def call(self, name, params):
        """Runs a prepared statement with binary parameters and binary results; returns the rows."""
        n = len(params)
        values = (ctypes.c_char_p * n)(*params)
        lengths = (ctypes.c_int * n)(*[len(p) for p in params])
        formats = (ctypes.c_int * n)(*([1] * n))
        res = self.lib.PQexecPrepared(self.conn, name.encode(), n, values, lengths, formats, 1)
        try:
            if self.lib.PQresultStatus(res) != PGRES_TUPLES_OK:
                raise RuntimeError(self.lib.PQresultErrorMessage(res).decode())
            return self.lib.PQntuples(res)
        finally:
            self.lib.PQclear(res)

    def close(self):
        self.lib.PQfinish(self.conn)


class BinaryValidate:
    """One connection with both statements prepared; run() times calls of one variant."""

    def __init__(self, conninfo, ids, generations):
        self.conn = Connection(conninfo)
        type_oid = int(self.conn.scalar("SELECT 'gencontrol.tenant_shard_id'::regtype::oid"))
        gens = binary_array(INT4_OID, [struct.pack("!i", g) for g in generations])
        self.params = {
            "gencontrol": [binary_array(type_oid, [tenant_shard_id_bytes(i) for i in ids]), gens],
            "unnest": [binary_array(TEXT_OID, [i.encode() for i in ids]), gens],
        }
        self.conn.prepare("gencontrol", GENCONTROL_SQL)
        self.conn.prepare("unnest", UNNEST_SQL)
        self.rows = {}

    def run(self, variant, calls):
        """Milliseconds of each of `calls` calls of `variant` ("gencontrol" or "unnest")."""
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            self.rows[variant] = self.conn.call(variant, self.params[variant])
            times.append((time.perf_counter() - t0) * 1000)
        return times

    def close(self):
        self.conn.close()


def measure(conninfo, ids, generations, reps=7):
    """{variant: (median ms per call, backend CPU ms per call, rows)}, the two variants alternating."""
    conn = Connection(conninfo)
    if os.environ.get("BINARY_CALL_PAUSE"):  # time to attach a profiler: perf record -p PID
        print(f"backend pid {conn.pid}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ["BINARY_CALL_PAUSE"]))
    type_oid = int(conn.scalar("SELECT 'gencontrol.tenant_shard_id'::regtype::oid"))
    gens = binary_array(INT4_OID, [struct.pack("!i", g) for g in generations])
    variants = {
        "gencontrol": ("gencontrol_validate", GENCONTROL_SQL,
                       [binary_array(type_oid, [tenant_shard_id_bytes(i) for i in ids]), gens]),
        "unnest": ("unnest_validate", UNNEST_SQL, [binary_array(TEXT_OID, [i.encode() for i in ids]), gens]),
    }
    times = {k: [] for k in variants}
    ticks = {k: 0 for k in variants}
    rows = {}
    only = os.environ.get("BINARY_CALL_ONLY")  # one variant alone, e.g. while profiling it
    if only:
        variants = {only: variants[only]}
    for name, sql, params in variants.values():
        conn.prepare(name, sql)
    for rep in range(reps + 1):  # the first round warms caches and plans, and is not counted
        for key, (name, _, params) in variants.items():
            t0, c0 = time.perf_counter(), backend_cpu_ticks(conn.pid)
            rows[key] = conn.call(name, params)
            t1, c1 = time.perf_counter(), backend_cpu_ticks(conn.pid)
            if rep:
                times[key].append((t1 - t0) * 1000)
                ticks[key] += c1 - c0
    conn.close()
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return {k: (statistics.median(times[k]), ticks[k] * tick_ms / reps, rows[k]) for k in variants}


def main():
    conninfo, path = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    ids, gens = [], []
    with open(path) as f:
        for line in f:
            i, g = line.split()
            ids.append(i)
            gens.append(int(g))
    for key, (ms, cpu, n) in measure(conninfo, ids, gens, reps).items():
        print(f"{key:10s} {len(ids):,} ids: {ms:.2f} ms per call (median of {reps}), backend CPU {cpu:.2f} ms, {n} rows")


if __name__ == "__main__":
    main()
