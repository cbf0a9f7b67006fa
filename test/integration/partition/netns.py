"""Network namespaces and veth links that a partition test creates, cuts, heals and removes.

Addresses come from 198.18.0.0/15 (reserved for network tests), one point-to-point /30 per
link, and no namespace has a default route: traffic never leaves the namespaces and loopback.
Names carry this process's id (gcpart-<pid>-...), so parallel runs never collide; remove() runs
on every exit path (class cleanup, atexit, SIGTERM), and sweep() removes what a run killed with
SIGKILL left behind. Servers inside a removed namespace keep it alive, unnamed, until they stop. Needs root (ip netns); available() says whether the machine allows it.
"""
import atexit
import ctypes
import os
import signal
import subprocess
import threading

PREFIX = "gcpart"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def available():
    if os.geteuid() != 0:
        return False
    return ip("netns", "list", check=False).returncode == 0


def sweep():
    """Removes namespaces left by runs whose process is gone (a SIGKILL skips every cleanup)."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) < 3 or parts[0] != PREFIX or not parts[1].isdigit():
            continue
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            ip("netns", "del", name, check=False)
        except PermissionError:
            pass


_entered = threading.local()


def enter(namespace):
    """Moves the calling thread (only it) into `namespace`: sockets it opens from now on live
    there. Load threads call this before connecting, so one process can hold clients on both
    sides of a partition."""
    if getattr(_entered, "name", None) == namespace:
        return
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({namespace}): {os.strerror(err)}")
    finally:
        os.close(fd)
    _entered.name = namespace


def call_in(namespace, fn):
    """Runs fn() on a thread inside `namespace` and returns its result (or raises its error)."""
    box = {}

    def run():
        try:
            enter(namespace)
            box["result"] = fn()
        except BaseException as e:  # handed to the caller
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")


class Link:
    """A veth pair between two namespaces: ends (namespace, device, address)."""

    def __init__(self, a, dev_a, addr_a, b, dev_b, addr_b):
        self.ends = ((a, dev_a, addr_a), (b, dev_b, addr_b))

    def address_in(self, namespace):
        return next(addr for ns, _, addr in self.ends if ns == namespace)

    def set(self, state):
        for ns, dev, _ in self.ends:
            ip("-n", ns, "link", "set", dev, state)


class Topology:
    """The namespaces and links of one scenario."""

    _live = []

    def __init__(self, tag):
        sweep()
        self.base = f"{PREFIX}-{os.getpid()}-{tag}"
        self.namespaces = []
        self.links = []
        Topology._live.append(self)

    def namespace(self, short):
        name = f"{self.base}-{short}"
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def link(self, a, b):
        """A /30 from 198.18.<n>.0 (n >= 1) between namespaces a and b; a gets .1, b gets .2."""
        n = len(self.links) + 1
        dev_a, dev_b = f"to{n}b", f"to{n}a"
        ip("link", "add", dev_a, "netns", a, "type", "veth", "peer", "name", dev_b, "netns", b)
        link = Link(a, dev_a, f"198.18.{n}.1", b, dev_b, f"198.18.{n}.2")
        for ns, dev, addr in link.ends:
            ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        self.links.append(link)
        return link

    def switch(self, short):
        """A namespace holding one bridge: members plugged into it share 198.18.0.0/24."""
        name = self.namespace(short)
        ip("-n", name, "link", "add", "br0", "type", "bridge")
        ip("-n", name, "link", "set", "br0", "up")
        return name

    def plug(self, switch, namespace, host):
        """Plugs `namespace` into the bridge of `switch` as 198.18.0.<host>; returns the Link
        (cut it to isolate that member from every other one on the switch)."""
        port = f"p{host}"
        ip("link", "add", "sw0", "netns", namespace, "type", "veth", "peer", "name", port, "netns", switch)
        ip("-n", switch, "link", "set", port, "master", "br0")
        link = Link(namespace, "sw0", f"198.18.0.{host}", switch, port, None)
        ip("-n", namespace, "addr", "add", f"198.18.0.{host}/24", "dev", "sw0")
        for ns, dev, _ in link.ends:
            ip("-n", ns, "link", "set", dev, "up")
        self.links.append(link)
        return link

    @staticmethod
    def cut(*links):
        for link in links:
            link.set("down")

    @staticmethod
    def heal(*links):
        for link in links:
            link.set("up")

    def exec_argv(self, namespace, argv):
        return ["ip", "netns", "exec", namespace] + list(argv)

    def remove(self):
        """Deletes every namespace (and with it every veth); stop the servers inside first."""
        for name in self.namespaces:
            ip("netns", "del", name, check=False)
        self.namespaces = []
        if self in Topology._live:
            Topology._live.remove(self)


def _remove_all():
    for topology in list(Topology._live):
        topology.remove()


atexit.register(_remove_all)


def _on_sigterm(signum, frame):
    # Remove the namespaces, then die of the signal as before: raising here instead would be
    # caught by unittest as one test's error and the run would go on.
    _remove_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
    signal.signal(signal.SIGTERM, _on_sigterm)
