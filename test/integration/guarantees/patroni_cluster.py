"""A Patroni-managed PostgreSQL pair with a one-member etcd on loopback, for the failover
test: the production set-up of docs/ha.md in miniature. Patroni and PostgreSQL run as the
`postgres` user when the tests run as root; etcd runs as the caller."""
import http.client
import json
import os
import pwd
import shutil
import signal
import subprocess
import time

import psutil

from pgcluster import BASE, PG_BIN, Cluster, ensure_base

ETCD = "/usr/bin/etcd"
PATRONI = "/usr/bin/patroni"


def _server_account():
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [],
            "env": dict(os.environ, HOME=entry.pw_dir, USER="postgres", LOGNAME="postgres")}


def _http_get(port, path, timeout=3):
    """(status, parsed JSON body or None); (None, None) when nothing answers."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, None
    except OSError:
        return None, None


def _stop_process(process, timeout=20):
    """SIGTERM, then SIGKILL after `timeout`; then SIGKILL to whatever the process had started
    that outlived it. The process started is `ip netns exec`/`runuser`, not Patroni itself: a
    Patroni that was hung and resumed outlived the kill, reparented, and kept itself and its
    PostgreSQL running after the test ended."""
    if process is None or process.poll() is not None:
        return
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    for child in descendants:
        try:
            child.kill()
            child.wait(10)
        except psutil.Error:
            pass


def _kill_leftovers(program, marker):
    """Kills a `program` process a previous, interrupted run of this test left behind: only
    one whose command line names this test's own `marker` (config file or data directory)."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(program in arg for arg in cmdline[:2]) and marker in cmdline:
            try:
                process.kill()
                process.wait(10)
            except psutil.Error:
                pass


class Etcd:
    def __init__(self, name, client_port, peer_port):
        self.name, self.client_port, self.peer_port = name, client_port, peer_port
        self.root = os.path.join(BASE, name)
        self.logfile = os.path.join(self.root, "etcd.log")
        self.process = None

    def start(self, timeout=30):
        ensure_base()
        _kill_leftovers("etcd", os.path.join(self.root, "data"))
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        with open(self.logfile, "wb") as log:
            self.process = subprocess.Popen(
                [ETCD, "--name", self.name, "--data-dir", os.path.join(self.root, "data"),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", f"{self.name}={peer}", "--initial-cluster-state", "new",
                 "--enable-v2=true"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.process.returncode}; see {self.logfile}")
            status, body = _http_get(self.client_port, "/health")
            if status == 200 and body and body.get("health") in ("true", True):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"etcd did not become healthy; see {self.logfile}")

    def stop(self):
        _stop_process(self.process)


class PatroniNode:
    """One Patroni daemon and the PostgreSQL it manages. `cluster` (a pgcluster.Cluster over
    the same directories) gives psql, conninfo and kill9 for the managed server."""

    def __init__(self, scope, name, pg_port, rest_port, etcd, dcs):
        self.scope, self.name, self.pg_port, self.rest_port = scope, name, pg_port, rest_port
        self.etcd, self.dcs = etcd, dcs
        self.cluster = Cluster(name, pg_port)
        self.root = self.cluster.root
        self.config_path = os.path.join(self.root, "patroni.yml")
        self.logfile = os.path.join(self.root, "patroni.log")
        self.process = None

    def config(self):
        # JSON is YAML: Patroni reads this file as YAML.
        return {
            "scope": self.scope,
            "name": self.name,
            "restapi": {"listen": f"127.0.0.1:{self.rest_port}",
                        "connect_address": f"127.0.0.1:{self.rest_port}"},
            self.dcs: {"hosts": [f"127.0.0.1:{self.etcd.client_port}"]},
            "bootstrap": {
                "dcs": {
                    # Failover after about ttl seconds; ttl >= loop_wait + 2 * retry_timeout.
                    "ttl": 10, "loop_wait": 1, "retry_timeout": 3,
                    "maximum_lag_on_failover": 1048576,
                    # gencontrol's requirement: only a synchronous standby may be promoted, and
                    # every commit waits for it.
                    "synchronous_mode": True,
                    "postgresql": {
                        "use_pg_rewind": False,
                        "parameters": {"synchronous_commit": "on", "wal_level": "replica",
                                       "hot_standby": "on", "max_wal_senders": 10,
                                       "max_replication_slots": 10, "wal_keep_size": "256MB",
                                       "max_connections": 200},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, {"auth": "trust"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_port}",
                "connect_address": f"127.0.0.1:{self.pg_port}",
                "data_dir": self.cluster.data,
                "bin_dir": PG_BIN,
                "pgpass": os.path.join(self.root, "pgpass"),
                "authentication": {"superuser": {"username": "postgres"},
                                   "replication": {"username": "replicator"}},
                "parameters": {"unix_socket_directories": self.cluster.sockdir,
                               "shared_buffers": "128MB", "fsync": "on",
                               "log_min_messages": "warning"},
                "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust",
                           "local replication all trust", "host replication all 127.0.0.1/32 trust"],
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False,
                     "nosync": False},
        }

    def start(self):
        ensure_base()
        _kill_leftovers("patroni", self.config_path)
        self.cluster.stop_if_running()
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.cluster.sockdir)
        with open(self.config_path, "w") as f:
            json.dump(self.config(), f, indent=1)
        account = _server_account()
        if account:
            for path in (self.root, self.cluster.sockdir, self.config_path):
                os.chown(path, account["user"], account["group"])
        with open(self.logfile, "wb") as log:
            self.process = subprocess.Popen([PATRONI, self.config_path], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.root, **account)
        return self

    def rest(self, path):
        return _http_get(self.rest_port, path)

    def role(self):
        status, body = self.rest("/patroni")
        return (body or {}).get("role") if status else None

    def is_primary(self):
        return self.rest("/primary")[0] == 200

    def is_sync_standby(self):
        return self.rest("/sync")[0] == 200

    def kill9(self):
        """A host crash: Patroni and then the postmaster with all its children, kill -9."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.cluster.kill9()

    def stop(self):
        _stop_process(self.process, timeout=40)
        self.cluster.stop_if_running()

    def log_tail(self, lines=40):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""
