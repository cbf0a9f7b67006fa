"""The client library's generation service clients against the real shim and a real PostgreSQL,
through build/client_probe: re-attach and validate over HTTP and over SQL, batches past Neon's
chunk of 128, and each call retrying while the shim or the database is stopped, then answering
once it is back; a shutdown request ends a retrying call; the bearer token (and its control: none is 401);
HTTPS against the shim serving a self-signed certificate made here (trusted through the client's CA
file; the controls: another CA, or none, is refused and never answered).

Ports (this folder): PostgreSQL 15700-15709, shims 15720-15739, nodes 15740-15759.
"""
import json
import os
import shutil
import subprocess
import time
import unittest

from harness import ClusterTestCase, DATABASE
import tempfile

from shimproc import ROOT, Ed25519Key, Shim, make_certificate, start_tls_shim, tenant

PROBE = os.path.join(ROOT, "build", "client_probe")
SHIM_PORT = 15720
BASE = f"http://127.0.0.1:{SHIM_PORT}/upcall/v1/"
TLS_SHIM_PORT = 15722
TLS_BASE = f"https://127.0.0.1:{TLS_SHIM_PORT}/upcall/v1/"


def probe_argv(transport, *args):
    return [PROBE, *transport, "--backoff-scale", "0.2", *args]


def run_probe(transport, *args, timeout=60):
    done = subprocess.run(probe_argv(transport, *args), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"client_probe failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout), done.stderr


def start_probe(transport, *args):
    return subprocess.Popen(probe_argv(transport, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_probe(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"client_probe failed ({proc.returncode}): {err}")
    return json.loads(out), err


def retries(stderr):
    return int(stderr.rsplit("retries: ", 1)[1].split()[0])


def wait_for_retry(proc, timeout=30):
    """Blocks until the probe has reported at least one failed attempt (it is in its retry loop)."""
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("retry:"):
            return line
    raise AssertionError("the probe never retried")


@unittest.skipUnless(os.access(PROBE, os.X_OK), "build/client_probe is not built")
class GenerationClientsTest(ClusterTestCase):
    PORT = 15700

    def setUp(self):
        self.shim = Shim(f"client-{self._testMethodName}", SHIM_PORT, self.cluster.conninfo(DATABASE))
        self.addCleanup(self.shim.stop)
        self.shim.start()
        self.http = ["--http", BASE]
        self.sql = ["--sql", self.cluster.conninfo(DATABASE)]

    def attach(self, t, node):
        r = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": node})
        self.assertEqual(r.status, 200, r)
        return r.json()["gen"]

    def test_re_attach_and_validate_over_both_transports(self):
        for node, transport in ((11, self.http), (12, self.sql)):
            with self.subTest(transport=transport[0]):
                t = tenant(0xC000 + node, (1, 2))
                self.assertEqual(run_probe(transport, "re-attach", str(node))[0], [])  # registers the node
                g = self.attach(t, node)
                shards, _ = run_probe(transport, "re-attach", str(node))
                self.assertEqual(shards, [{"id": t, "gen": g + 1, "mode": "AttachedSingle"}])
                unknown = tenant(0xCFFF)
                answer, _ = run_probe(transport, "validate", f"{t}:{g}", f"{unknown}:1", f"{t}:{g + 1}")
                self.assertEqual(answer, [{"id": t, "valid": False}, {"id": t, "valid": True}])

    def test_validate_batches_larger_than_a_chunk(self):
        tenants = [tenant(0xC100 + i) for i in range(300)]
        run_probe(self.http, "re-attach", "13")
        gens = [self.attach(t, 13) for t in tenants]
        # Every third one is checked with a generation that is not the current one.
        args = [f"{t}:{g + 1 if i % 3 == 0 else g}" for i, (t, g) in enumerate(zip(tenants, gens))]
        for transport in (self.http, self.sql):
            answer, _ = run_probe(transport, "validate", *args)
            self.assertEqual(answer, [{"id": t, "valid": i % 3 != 0} for i, t in enumerate(tenants)])

    def test_http_call_retries_while_the_shim_is_stopped(self):
        t = tenant(0xC201)
        run_probe(self.http, "re-attach", "14")
        g = self.attach(t, 14)
        self.shim.stop()
        proc = start_probe(self.http, "validate", f"{t}:{g}")
        wait_for_retry(proc)
        self.shim.start()
        answer, err = finish_probe(proc)
        self.assertEqual(answer, [{"id": t, "valid": True}])
        self.assertGreaterEqual(retries(err), 1)

    def test_http_call_retries_while_the_database_is_stopped(self):
        t = tenant(0xC202)
        run_probe(self.http, "re-attach", "15")
        self.attach(t, 15)
        self.cluster.stop("fast")
        try:
            proc = start_probe(self.http, "re-attach", "15")
            wait_for_retry(proc)  # the shim answers 503 meanwhile
        finally:
            self.cluster.start()
        shards, err = finish_probe(proc)
        self.assertEqual([s["id"] for s in shards], [t])
        self.assertGreaterEqual(retries(err), 1)

    def test_sql_call_retries_while_the_database_is_stopped(self):
        t = tenant(0xC203)
        run_probe(self.sql, "re-attach", "16")
        g = self.attach(t, 16)
        self.cluster.kill9()
        try:
            proc = start_probe(self.sql, "validate", f"{t}:{g}")
            wait_for_retry(proc)
        finally:
            self.cluster.start()
        answer, err = finish_probe(proc)
        self.assertEqual(answer, [{"id": t, "valid": True}])
        self.assertGreaterEqual(retries(err), 1)

    def test_shutdown_ends_a_retrying_call(self):
        self.shim.stop()
        proc = start_probe(self.http, "validate", f"{tenant(0xC204)}:1")
        wait_for_retry(proc)
        proc.terminate()
        proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 3, "kCancelled after SIGTERM")

    def test_http_bearer_token(self):
        """With auth on, the token from --token-file is sent; without it the call never succeeds."""
        keys = tempfile.mkdtemp(prefix="gencontrol-client-keys-")
        key = Ed25519Key(keys, "upcall")
        self.shim.stop()
        self.shim = Shim("client-auth", SHIM_PORT, self.cluster.conninfo(DATABASE), keys=[key.public])
        self.addCleanup(self.shim.stop)
        self.shim.start()
        token_file = os.path.join(keys, "token")
        with open(token_file, "w") as f:
            f.write(key.token({"scope": "generations_api"}) + "\n")
        shards, err = run_probe(["--http", BASE, "--token-file", token_file], "re-attach", "17")
        self.assertEqual((shards, retries(err)), ([], 0))
        # The control: no token is 401, which the client retries until it is told to stop.
        proc = start_probe(self.http, "re-attach", "17")
        self.assertIn("401", wait_for_retry(proc))
        proc.terminate()
        proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 3)

    def test_https_with_the_servers_ca(self):
        """The shim serves HTTPS with a self-signed certificate; the client trusts it through its CA
        file and re-attaches and validates. The controls: another CA's file, and no CA file (the
        system's CAs), are refused at the handshake, retried, never answered."""
        certs = tempfile.mkdtemp(prefix="gencontrol-client-tls-")
        self.addCleanup(shutil.rmtree, certs, True)
        shim, cert = start_tls_shim("client-tls", TLS_SHIM_PORT, self.cluster.conninfo(DATABASE), certs)
        self.addCleanup(shim.stop)
        other_ca, _ = make_certificate(certs, "other")
        https = ["--http", TLS_BASE, "--ca-file", cert]

        t = tenant(0xC301)
        shards, err = run_probe(https, "re-attach", "18")
        self.assertEqual((shards, retries(err)), ([], 0))
        g = self.attach(t, 18)
        answer, err = run_probe(https, "validate", f"{t}:{g}", f"{t}:{g + 1}")
        self.assertEqual(answer, [{"id": t, "valid": True}, {"id": t, "valid": False}])
        self.assertEqual(retries(err), 0)

        for name, transport in (("another CA", ["--http", TLS_BASE, "--ca-file", other_ca]),
                                ("the system's CAs", ["--http", TLS_BASE])):
            with self.subTest(trusting=name):
                proc = start_probe(transport, "validate", f"{t}:{g}")
                line = wait_for_retry(proc)
                self.assertIn("certificate", line.lower(), line)
                proc.terminate()
                out, _ = proc.communicate(timeout=30)
                self.assertEqual((proc.returncode, out), (3, ""), "refused, then cancelled: never answered")


if __name__ == "__main__":
    unittest.main()
