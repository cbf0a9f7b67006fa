"""Streaming standbys for the read-barrier and partition tests, over a unix socket or, for
servers in network namespaces, over a veth link; and the wait helper they share."""
import time

STANDBY_NAME = "gencontrol_standby"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def add_standby(primary, standby, conf=None, host=None, synchronous=True):
    """Makes `standby` a streaming standby of the running `primary` and starts it; it connects
    to `host` (an address of the primary's namespace) or else the primary's unix socket. With
    `synchronous`, the primary's commits wait for it, and this returns once they do."""
    standby.init(conf, replica_of=primary)
    source = f"host={host}" if host else f"host={primary.sockdir}"
    standby.append_conf({"primary_conninfo": f"'{source} port={primary.port} user=postgres "
                                             f"application_name={STANDBY_NAME}'"})
    standby.start()
    if synchronous:
        primary.psql(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        primary.psql("SELECT pg_reload_conf()")
    wanted = "sync" if synchronous else "async"
    wait_for(lambda: primary.psql("SELECT sync_state FROM pg_stat_replication "
                                  f"WHERE application_name = '{STANDBY_NAME}'") == wanted,
             60, f"the standby to stream ({wanted})")


def add_synchronous_standby(primary, standby, conf=None):
    add_standby(primary, standby, conf)
