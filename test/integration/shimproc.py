"""The real gencontrol-http binary, started for a test and spoken to over loopback.

Shim(port, database_url, ...).start() runs build/gencontrol-http with its log in a file and
waits for GET /status; stop() sends SIGTERM and reaps it (SIGKILL if it does not exit).
request() makes one HTTP call on a fresh connection and decodes a JSON answer.
Keys and tokens for the auth tests come from the openssl command line (Ed25519).
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "build", "gencontrol-http")
LOG_DIR = os.path.join(tempfile.gettempdir(), "gencontrol-shim-tests")

TENANT = "072f1291a5310026820b2fe4b2968934"


def tenant(i, shard=None):
    """A distinct tenant shard id for number i; shard=(number, count) makes it sharded."""
    text = f"{i:032x}"
    if shard:
        text += f"-{shard[0]:02x}{shard[1]:02x}"
    return text



def wait_until_answered(proc, answered, timeout, name, what, log):
    """Polls `answered()` (a request to the process; OSError counts as no answer) until it is true.
    Raises with the process's log if the process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log()}")
        try:
            if answered():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not {what} within {timeout}s:\n{log()}")

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, body=None, token=None, headers=None, timeout=30, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = dict(headers or {})
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
        if payload is not None:
            all_headers.setdefault("Content-Type", "application/json")
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=payload, headers=all_headers)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def available():
    """Whether the shim is built; tests that need it skip without it."""
    return os.access(BINARY, os.X_OK)


class Shim:
    def __init__(self, name, port, database_url, keys=(), args=(), log_level="debug"):
        self.name = name
        self.log_level = log_level
        self.port = port
        self.database_url = database_url
        self.keys = list(keys)
        self.args = list(args)
        self.proc = None
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, f"{name}.log")

    def argv(self):
        argv = [BINARY, "--listen", f"127.0.0.1:{self.port}", "--database-url", self.database_url,
                "--log-level", self.log_level]
        for key in self.keys:
            argv += ["--jwt-public-key", key]
        return argv + self.args

    def start(self, wait=True):
        if not os.path.exists(BINARY):
            raise RuntimeError(f"{BINARY} is missing: build it first (cmake --build build)")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        wait_until_answered(self.proc, lambda: self.request("GET", "/status", timeout=2).status == 200,
                            timeout, "gencontrol-http", "answer /status", self.log)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the process (also after a failed test) and returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=30):
        return "".join(self.log().splitlines(keepends=True)[-lines:])

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def request(self, method, path, body=None, token=None, **kwargs):
        return request(self.port, method, path, body, token, **kwargs)

    def post(self, path, body=None, token=None, **kwargs):
        return self.request("POST", path, body, token, **kwargs)

    def metric(self, line_prefix):
        """The value of the first /metrics sample whose text starts with line_prefix, or None."""
        for line in self.request("GET", "/metrics").body.decode().splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        return None


# --- Ed25519 keys and JWTs, made with the openssl command line ------------------------------


# --- TLS ------------------------------------------------------------------------------------------
def make_certificate(directory, name):
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, made by openssl."""
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-keyout", key, "-out", cert, "-days", "2", "-nodes", "-subj", f"/CN=gencontrol-{name}",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def wait_for_tls(port, ca_file, timeout=15):
    """Waits until a TLS handshake with the shim succeeds (its /status wait speaks plain HTTP)."""
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context(cafile=ca_file)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_tls_shim(name, port, database_url, directory):
    """A shim serving HTTPS under a new self-signed certificate made in `directory`, started and
    answering handshakes: (shim, its certificate). The caller stops it."""
    cert, key = make_certificate(directory, name)
    shim = Shim(name, port, database_url, args=["--tls-cert", cert, "--tls-key", key])
    shim.start(wait=False)
    wait_for_tls(port, cert)
    return shim, cert


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Ed25519Key:
    def __init__(self, directory, name):
        self.private = os.path.join(directory, f"{name}.key")
        self.public = os.path.join(directory, f"{name}.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.private], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.private, "-pubout", "-out", self.public], check=True,
                       capture_output=True)

    def sign(self, data):
        # Ed25519 signs the whole message at once, so openssl wants it in a file, not on stdin.
        with tempfile.NamedTemporaryFile(prefix="jwt-input-") as message:
            message.write(data)
            message.flush()
            return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", self.private,
                                   "-in", message.name], check=True, capture_output=True).stdout

    def token(self, claims, header=None):
        header = header or {"alg": "EdDSA", "typ": "JWT"}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        return signing_input + "." + b64url(self.sign(signing_input.encode()))

    def public_pem(self):
        with open(self.public, "rb") as f:
            return f.read()


def hmac_token(secret, claims, alg="HS256"):
    signing_input = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64url(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return signing_input + "." + b64url(hmac.new(secret, signing_input.encode(), digest).digest())


def none_token(claims):
    return b64url(b'{"alg":"none","typ":"JWT"}') + "." + b64url(json.dumps(claims).encode()) + "."
