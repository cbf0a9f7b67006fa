"""The real gencontrol-node binary, started for a test and spoken to over loopback.

Node(...).start() runs build/gencontrol-node with its log in a file and waits until tenant routes
answer (they are 503 until re-attach and deletion-queue recovery are done). kill9(), pause()
(SIGSTOP), resume() (SIGCONT), stop() and restart() are what the scenarios do to it; stop() also
resumes a paused node first, so no exit path leaves a stopped process behind.
"""
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from shimproc import request, wait_until_answered  # noqa: E402

# GENCONTROL_NODE points the tests at another build of the node (an installed one, say).
BINARY = os.environ.get("GENCONTROL_NODE") or os.path.join(ROOT, "build", "gencontrol-node")
# An id no test attaches: asking for it tells "still starting" (503) from "serving" (404).
PROBE_TENANT = "ffffffffffffffffffffffffffffffff"


def available():
    """Whether the node is built; scenario tests skip without it (and only then)."""
    return os.access(BINARY, os.X_OK)


class NodeError(AssertionError):
    """A node answered something a scenario did not expect; carries the request and answer."""


class Node:
    def __init__(self, node_id, port, workdir, store, log_dir, control_plane_api=None,
                 no_generations=False, args=()):
        self.node_id = node_id
        self.port = port
        self.workdir = workdir
        self.store = store
        self.control_plane_api = control_plane_api
        self.no_generations = no_generations
        self.args = list(args)
        self.proc = None
        self.paused = False
        self.starts = 0
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, f"node-{node_id}.log")

    def argv(self):
        argv = [BINARY, "--node-id", str(self.node_id), "--listen", f"127.0.0.1:{self.port}",
                "--workdir", self.workdir, "--remote-storage", self.store]
        if self.no_generations:
            argv.append("--no-generations")
        elif self.control_plane_api:
            argv += ["--control-plane-api", self.control_plane_api]
        return argv + self.args

    # --- lifecycle --------------------------------------------------------------------------
    def start(self, wait=True, timeout=60):
        os.makedirs(self.workdir, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"==== start {self.starts + 1}: {' '.join(self.argv())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        self.paused = False
        self.starts += 1
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_status(self, timeout=15):
        """Waits until /status answers, which it does from the start, before re-attach."""
        wait_until_answered(self.proc, lambda: self.request("GET", "/status", timeout=2).status == 200,
                            timeout, f"gencontrol-node {self.node_id}", "answer /status", self.log_tail)

    def wait_ready(self, timeout=60):
        """Waits until tenant routes are served (not 503), i.e. re-attach and recovery are done."""
        wait_until_answered(
            self.proc, lambda: self.request("GET", f"/v1/tenant/{PROBE_TENANT}", timeout=2).status != 503,
            timeout, f"gencontrol-node {self.node_id}", "serve tenants", self.log_tail)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """kill -9: no shutdown code runs, as when a host dies."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.paused = False

    def pause(self):
        """SIGSTOP: the process keeps its state and its port but answers nothing (a zombie)."""
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=15):
        if self.proc is None:
            return None
        if self.alive():
            if self.paused:
                self.resume()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def restart(self, wait=True):
        self.kill9()
        return self.start(wait)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # --- the management API -------------------------------------------------------------------
    def request(self, method, path, body=None, timeout=60):
        return request(self.port, method, path, body, timeout=timeout)

    def probe(self, path):
        """The status a GET of path answers, or None while nothing listens (still starting)."""
        try:
            return self.request("GET", path, timeout=5).status
        except OSError:
            return None

    def expect(self, status, method, path, body=None, timeout=60):
        """One request whose status must be `status` (or one of them); returns the response."""
        resp = self.request(method, path, body, timeout=timeout)
        wanted = status if isinstance(status, (tuple, list, set)) else (status,)
        if resp.status not in wanted:
            raise NodeError(f"node {self.node_id}: {method} {path} {body!r} answered {resp!r}, "
                            f"expected {status}")
        return resp

    def location_config(self, tenant, mode, generation=None, status=200):
        body = {"mode": mode}
        if generation is not None:
            body["generation"] = generation
        return self.expect(status, "PUT", f"/v1/tenant/{tenant}/location_config", body)

    def tenant(self, tenant, status=200):
        return self.expect(status, "GET", f"/v1/tenant/{tenant}")

    def write(self, tenant, timeline, records, status=200):
        body = {"records": [{"key": k, "value": v} for k, v in records]}
        return self.expect(status, "POST", f"/v1/tenant/{tenant}/timeline/{timeline}/write", body)

    def checkpoint(self, tenant, timeline, status=200, timeout=60):
        return self.expect(status, "POST", f"/v1/tenant/{tenant}/timeline/{timeline}/checkpoint",
                           timeout=timeout)

    def compact(self, tenant, timeline, status=200):
        return self.expect(status, "POST", f"/v1/tenant/{tenant}/timeline/{timeline}/compact")

    def read(self, tenant, timeline, status=200):
        return self.expect(status, "GET", f"/v1/tenant/{tenant}/timeline/{timeline}/read")

    def flush_deletions(self, status=200, timeout=60):
        return self.expect(status, "POST", "/v1/deletion_queue/flush", {"execute": True}, timeout=timeout)

    def metrics(self):
        """Every sample of /metrics as {"name{labels}": value}."""
        samples = {}
        for line in self.expect(200, "GET", "/metrics").body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                pass
        return samples

    def metric(self, name):
        return self.metrics().get(name, 0.0)
