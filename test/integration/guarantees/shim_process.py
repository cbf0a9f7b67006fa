"""The HTTP shim (build/gencontrol-http) as a child process of a guarantee test: started
against a conninfo, waited for, and stopped, also when the test fails."""
import http.client
import os
import subprocess
import time

from load import SHIM_BINARY

LOG_DIR = os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters")


def shim_available():
    return os.access(SHIM_BINARY, os.X_OK)


class Shim:
    def __init__(self, name, port, database_url, pool_size=8):
        self.name, self.port, self.database_url, self.pool_size = name, port, database_url, pool_size
        self.logfile = os.path.join(LOG_DIR, f"{name}.log")
        self.process = None

    def start(self, timeout=15):
        os.makedirs(LOG_DIR, exist_ok=True)
        log = open(self.logfile, "wb")
        self.process = subprocess.Popen(
            [SHIM_BINARY, "--listen", f"127.0.0.1:{self.port}", "--database-url", self.database_url,
             "--pool-size", str(self.pool_size)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.logfile}")
            if self.get("/status") == 200:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /status within {timeout} s; see {self.logfile}")

    def get(self, path):
        """The status code of GET path, or None when the shim does not answer."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return None

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/ready") == 200:
                return True
            time.sleep(0.1)
        return False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""
