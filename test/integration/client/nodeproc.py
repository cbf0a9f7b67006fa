"""The real gencontrol-node binary, started for a test and spoken to over loopback.

Node(name, port, node_id, ...).start() runs build/gencontrol-node with its log in a file and waits
for GET /status; wait_ready() waits until tenant routes stop answering 503; stop() sends SIGTERM
(or another signal) and reaps it.
"""
import os
import signal
import subprocess
import tempfile
import time

from shimproc import ROOT, request

BINARY = os.path.join(ROOT, "build", "gencontrol-node")
LOG_DIR = os.path.join(tempfile.gettempdir(), "gencontrol-node-tests")


def available():
    return os.access(BINARY, os.X_OK)


class Node:
    def __init__(self, name, port, node_id, workdir, remote_storage, args=()):
        self.name, self.port, self.node_id = name, port, node_id
        self.workdir, self.remote_storage = workdir, remote_storage
        self.args = list(args)
        self.proc = None
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, f"{name}.log")

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BINARY, "--node-id", str(self.node_id), "--listen", f"127.0.0.1:{self.port}", "--workdir", self.workdir,
             "--remote-storage", self.remote_storage, *self.args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        if wait:
            self.wait_status()
        return self

    def wait_status(self, timeout=10):
        self._wait(lambda: self.request("GET", "/status", timeout=2).status == 200, timeout, "/status")

    def wait_ready(self, timeout=30):
        self._wait(lambda: self.request("GET", "/status", timeout=2).json()["ready"], timeout, "readiness")

    def _wait(self, check, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gencontrol-node exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gencontrol-node: no {what} within {timeout}s:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-5000:]
        except OSError:
            return ""

    def request(self, method, path, body=None, **kwargs):
        return request(self.port, method, path, body, **kwargs)

    def metric(self, line_prefix):
        for line in self.request("GET", "/metrics").body.decode().splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        return None
