"""CPU time accounting for the benchmark, from /proc: how much CPU the database server spent
(the postmaster and every backend it started, live or exited), and how much of the machine
went to processes outside the benchmark. Clock-tick resolution (1/CLK_TCK s)."""
import os
import resource

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_ticks(pid, with_children=True):
    """utime + stime (+ cutime + cstime: children it has reaped) of one process, in ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # fields[0] is the state (field 3 of the line); utime..cstime are fields 14-17.
    return sum(int(x) for x in fields[11:15 if with_children else 13])


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def server_ticks(postmaster_pid):
    """The server's CPU so far: the postmaster, its reaped children, and its live children."""
    if not postmaster_pid:
        return 0
    return process_ticks(postmaster_pid) + sum(process_ticks(c) for c in children(postmaster_pid))


def settle(postmaster_pid, expected_children, timeout=3.0):
    """Waits until the postmaster has reaped the backends of a finished run, so that their CPU
    time is in its cutime (a backend that exited but is not reaped yet shows no time)."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(children(postmaster_pid)) > expected_children:
        time.sleep(0.02)


def own_children_ticks():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return int((r.ru_utime + r.ru_stime + s.ru_utime + s.ru_stime) * CLOCK_TICKS)


def machine_ticks():
    """(total, busy) ticks of all CPUs since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v), sum(v) - v[3] - v[4]


class Sample:
    """A point in time: machine ticks, server ticks, and the benchmark's own other ticks."""

    def __init__(self, postmaster_pid, extra_pids=()):
        self.total, self.busy = machine_ticks()
        self.server = server_ticks(postmaster_pid)
        self.client = own_children_ticks()  # pgbench or wrk, once they have exited
        self.extra = sum(process_ticks(p) for p in extra_pids)  # e.g. the HTTP shim

    @staticmethod
    def server_seconds(before, after):
        return (after.server - before.server) / CLOCK_TICKS

    @staticmethod
    def client_seconds(before, after):
        return (after.client - before.client) / CLOCK_TICKS

    @staticmethod
    def extra_seconds(before, after):
        return (after.extra - before.extra) / CLOCK_TICKS

    @staticmethod
    def foreign_share(before, after):
        """Share of the machine's CPU capacity used by processes outside the benchmark."""
        total = after.total - before.total
        if total <= 0:
            return 0.0
        ours = (after.server - before.server) + (after.client - before.client) + (after.extra - before.extra)
        return max(0.0, ((after.busy - before.busy) - ours) / total)
