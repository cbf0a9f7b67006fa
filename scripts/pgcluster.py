#!/usr/bin/python3
"""Throwaway PostgreSQL 15 clusters for gencontrol's run and test commands.

PostgreSQL refuses to run as root, so a root caller runs every server command as the
`postgres` system user. Each cluster lives under one base directory with its own port and
socket directory. Used as a module by the tests and as a command by the shell scripts:

    pgcluster.py start NAME PORT [--conf KEY=VALUE ...] [--db DB] [--extension EXT ...]
    pgcluster.py stop NAME | stop-all
"""
import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time



def _pg_bin():
    """The server binaries of the PostgreSQL that PG_CONFIG (default: pg_config on PATH) names."""
    if os.environ.get("PG_BIN"):
        return os.environ["PG_BIN"]
    pg_config = os.environ.get("PG_CONFIG") or "pg_config"
    return subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip()


PG_BIN = _pg_bin()
BASE = os.environ.get("GENCONTROL_CLUSTERS", "/tmp/gencontrol-clusters")


def server_user():
    """The account servers run as: the caller, unless that is root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    return "postgres"


def as_server_user(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


def run_as_server(argv, check=True, **kwargs):
    return subprocess.run(as_server_user(argv), check=check, cwd=BASE, **kwargs)


def ensure_base():
    os.makedirs(BASE, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(BASE, entry.pw_uid, entry.pw_gid)
    os.chmod(BASE, 0o755)


class Cluster:
    """One PostgreSQL server: data directory, port, socket directory, log file."""

    def __init__(self, name, port, netns=None):
        self.name = name
        self.port = int(port)
        # A network namespace (ip netns) the server runs in; None for the caller's own.
        self.netns = netns
        self.root = os.path.join(BASE, name)
        self.data = os.path.join(self.root, "data")
        self.sockdir = os.path.join(self.root, "sock")
        self.logfile = os.path.join(self.root, "server.log")

    # --- connection strings -------------------------------------------------------------
    def conninfo(self, dbname="postgres", user="postgres"):
        return f"host={self.sockdir} port={self.port} dbname={dbname} user={user}"

    def tcp_conninfo(self, dbname="postgres", user="postgres"):
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"

    def psql_argv(self, dbname="postgres"):
        return [f"{PG_BIN}/psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", self.sockdir,
                "-p", str(self.port), "-U", "postgres", "-d", dbname]

    # --- lifecycle ----------------------------------------------------------------------
    def init(self, conf=None, replica_of=None):
        """Creates a fresh data directory (removing an old one), or a base backup of a primary."""
        ensure_base()
        self.stop_if_running()
        if os.path.exists(self.root):
            shutil.rmtree(self.root)
        run_as_server(["mkdir", "-p", self.root, self.sockdir])
        if replica_of is None:
            run_as_server([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                          stdout=subprocess.DEVNULL)
        else:
            run_as_server([f"{PG_BIN}/pg_basebackup", "-D", self.data, "-h", replica_of.sockdir,
                           "-p", str(replica_of.port), "-U", "postgres", "-X", "stream",
                           "--write-recovery-conf", "--no-sync", "--checkpoint=fast"])
        settings = {
            "port": self.port,
            "unix_socket_directories": f"'{self.sockdir}'",
            "listen_addresses": "''",
            "shared_buffers": "128MB",
            "max_connections": 200,
            "wal_level": "replica",
            "max_wal_senders": 10,
            "hot_standby": "on",
            "fsync": "on",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        settings.update(conf or {})
        self.append_conf(settings)
        return self

    def append_conf(self, settings):
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        path = os.path.join(self.data, "postgresql.auto.conf")
        run_as_server(["sh", "-c", f"cat >> '{path}'"], input=lines.encode())

    def start(self, wait=True):
        argv = [f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.logfile, "-s", "start"]
        if wait:
            argv += ["-w", "-t", "120"]
        else:
            argv += ["-W"]
        if self.netns:
            subprocess.run(["ip", "netns", "exec", self.netns] + as_server_user(argv), check=True, cwd=BASE)
        else:
            run_as_server(argv)
        return self

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    def stop(self, mode="fast"):
        if self.running():
            run_as_server([f"{PG_BIN}/pg_ctl", "-D", self.data, "-s", "-m", mode, "-w",
                           "-t", "60", "stop"], check=False)

    def stop_if_running(self):
        if os.path.isdir(self.data):
            self.stop("immediate")

    def kill9(self):
        """Kills the postmaster and, as a host crash would, every server process it started."""
        pid = self.pid()
        if pid is None:
            return
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for p in [pid] + [int(c) for c in children]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Wait until every process is gone, so the restart does not find the old lock file live.
        deadline = time.monotonic() + 30
        for p in [pid] + [int(c) for c in children]:
            while time.monotonic() < deadline:
                try:
                    os.kill(p, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)

    def base_backup(self, target):
        """A plain-format base backup of this running server, with the WAL it needs, into the
        directory `target` (replaced). Restore it with restore()."""
        ensure_base()
        if os.path.exists(target):
            shutil.rmtree(target)
        run_as_server([f"{PG_BIN}/pg_basebackup", "-D", target, "-h", self.sockdir, "-p", str(self.port),
                       "-U", "postgres", "-X", "stream", "--checkpoint=fast", "--no-sync"])
        return target

    def restore(self, backup, conf=None):
        """Makes this (stopped) cluster a fresh copy of a base_backup() directory; starting it
        recovers to the end of the backup, as a restore from backup would."""
        ensure_base()
        self.stop_if_running()
        if os.path.exists(self.root):
            shutil.rmtree(self.root)
        run_as_server(["mkdir", "-p", self.root, self.sockdir])
        run_as_server(["cp", "-a", backup, self.data])
        settings = {"port": self.port, "unix_socket_directories": f"'{self.sockdir}'"}
        settings.update(conf or {})
        self.append_conf(settings)
        return self

    def promote(self):
        run_as_server([f"{PG_BIN}/pg_ctl", "-D", self.data, "-s", "-w", "promote"])

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # --- SQL ----------------------------------------------------------------------------
    def psql(self, sql, dbname="postgres", check=True):
        """Runs SQL with psql and returns its unaligned output, one row a line."""
        result = subprocess.run(self.psql_argv(dbname) + ["-qAt", "-c", sql], capture_output=True,
                                text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"psql failed on {self.name}: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, dbname, extensions=()):
        self.psql(f"DROP DATABASE IF EXISTS {dbname}")
        self.psql(f"CREATE DATABASE {dbname}")
        for ext in extensions:
            self.psql(f"CREATE EXTENSION IF NOT EXISTS {ext}", dbname=dbname)


def all_clusters():
    if not os.path.isdir(BASE):
        return []
    found = []
    for name in sorted(os.listdir(BASE)):
        conf = os.path.join(BASE, name, "data", "postgresql.auto.conf")
        if os.path.exists(conf):
            port = 0
            with open(conf) as f:
                for line in f:
                    if line.startswith("port ="):
                        port = int(line.split("=")[1].strip().strip("'\""))
            found.append(Cluster(name, port))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="create a fresh cluster and start it")
    start.add_argument("name")
    start.add_argument("port", type=int)
    start.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    start.add_argument("--db", default=None, help="database to create")
    start.add_argument("--extension", action="append", default=[], help="extension to create in --db")
    stop = sub.add_parser("stop", help="stop a cluster")
    stop.add_argument("name")
    sub.add_parser("stop-all", help="stop every cluster under the base directory")
    info = sub.add_parser("conninfo", help="print a cluster's libpq conninfo")
    info.add_argument("name")
    info.add_argument("port", type=int)
    info.add_argument("--db", default="postgres")
    args = parser.parse_args()

    if args.command == "start":
        conf = dict(item.split("=", 1) for item in args.conf)
        cluster = Cluster(args.name, args.port).init(conf).start()
        if args.db:
            cluster.create_database(args.db, args.extension)
        print(cluster.conninfo(args.db or "postgres"))
    elif args.command == "stop":
        for cluster in all_clusters():
            if cluster.name == args.name:
                cluster.stop()
    elif args.command == "stop-all":
        for cluster in all_clusters():
            cluster.stop("immediate")
    elif args.command == "conninfo":
        print(Cluster(args.name, args.port).conninfo(args.db))


if __name__ == "__main__":
    sys.exit(main())
