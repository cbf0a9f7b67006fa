"""64 concurrent clients on one gencontrol-http (pool of 8) mixing attach-hook, validate and
re-attach on the same shards, each over its own keep-alive connection: no request may fail, and
no generation may be handed out twice. Then concurrent validates on a shim that lets one
gen_validate call run at a time, so requests share calls: each must get exactly its own answer.
Last, attach-hooks that wait while the only pooled connection is busy share one transaction: each
gets its own generation, and one refused request in the shared call, or one whose row is locked
past the request timeout, costs the others nothing.

PostgreSQL on 15456; the shims on 15477, 15478, 15485 and 15486.
"""
import collections
import http.client
import json
import random
import socket
import threading
import time
import unittest

from harness import ClusterTestCase, DATABASE
from shimproc import Shim, tenant

CLIENTS = 64
REQUESTS_PER_CLIENT = 25
NODES = 4
TENANTS = [tenant(0x7000 + i, (i % 2, 2) if i % 3 == 0 else None) for i in range(32)]


def send_attach_hooks(port, bodies):
    """Sends each body as an attach-hook on a connection of its own, all before any answer is
    read, and returns the sockets."""
    sockets = []
    for body in bodies:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        payload = json.dumps(body).encode()
        s.sendall(b"POST /debug/v1/attach-hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
        sockets.append(s)
    return sockets


def read_answers(sockets):
    """(status, JSON body) of each socket's answer, in order; closes them."""
    answers = []
    for s in sockets:
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        answers.append((int(head.split()[1]), json.loads(body)))
    return answers


class ShimConcurrencyTest(ClusterTestCase):
    PORT = 15456

    def hold_and_attach(self, shim, held, cur):
        """Holds `held`'s row (FOR UPDATE, in an open transaction) and sends an attach-hook of it
        on a thread; returns once that attach waits for the row, with (locker connection, thread,
        dict that gets the response as "r")."""
        locker = self.connect(autocommit=False)
        locker.cursor().execute("SELECT 1 FROM gencontrol.tenant_shards_stored "
                                "WHERE id OPERATOR(gencontrol.=) %s::gencontrol.tenant_shard_id FOR UPDATE", (held,))
        first = {}
        thread = threading.Thread(target=lambda: first.update(
            r=shim.post("/debug/v1/attach-hook", {"tenant_shard_id": held, "node_id": 2})), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while True:
            cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cur.fetchone()[0]:
                return locker, thread, first
            self.assertLess(time.monotonic(), deadline, "the held shard's attach never waited for its row")
            time.sleep(0.02)

    @staticmethod
    def attach_log_rows(cur, t):
        """The history rows of attaches of shard `t`."""
        cur.execute("SELECT count(*) FROM gencontrol.generation_log "
                    "WHERE tenant OPERATOR(gencontrol.=) %s::gencontrol.tenant_shard_id AND operation = 'attach'", (t,))
        return cur.fetchone()[0]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = Shim("concurrency", 15477, cls.cluster.conninfo(DATABASE))
        cls.addClassCleanup(cls.shim.stop)
        cls.shim.start()
        for node in range(1, NODES + 1):
            register = {"node_id": node, "listen_pg_addr": f"ps{node}", "listen_pg_port": 6400,
                        "listen_http_addr": f"ps{node}", "listen_http_port": 9898, "availability_zone_id": "az"}
            assert cls.shim.post("/upcall/v1/re-attach", {"node_id": node, "register": register}).status == 200

    def test_64_clients_mixing_attach_validate_and_re_attach(self):
        failures = []
        issued = collections.defaultdict(list)  # tenant -> every generation an answer handed out
        lock = threading.Lock()
        known = {}  # tenant -> a generation seen, for validate requests

        def client(number):
            rng = random.Random(number)
            conn = http.client.HTTPConnection("127.0.0.1", self.shim.port, timeout=60)
            try:
                for i in range(REQUESTS_PER_CLIENT):
                    kind = rng.choice(("attach", "attach", "validate", "validate", "re-attach"))
                    node = rng.randint(1, NODES)
                    if kind == "attach":
                        path, body = "/debug/v1/attach-hook", {"tenant_shard_id": rng.choice(TENANTS), "node_id": node}
                    elif kind == "validate":
                        with lock:
                            snapshot = dict(known)
                        entries = [{"id": t, "gen": snapshot.get(t, 1)} for t in rng.sample(TENANTS, 16)] * 8
                        path, body = "/upcall/v1/validate", {"tenants": entries}
                    else:
                        path, body = "/upcall/v1/re-attach", {"node_id": node}
                    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    payload = response.read()
                    if response.status != 200:
                        failures.append((path, response.status, payload[:200]))
                        continue
                    answer = json.loads(payload)
                    with lock:
                        if kind == "attach":
                            issued[body["tenant_shard_id"]].append(answer["gen"])
                            known[body["tenant_shard_id"]] = answer["gen"]
                        elif kind == "re-attach":
                            for t in answer["tenants"]:
                                if t["gen"] is not None:
                                    issued[t["id"]].append(t["gen"])
                        elif len(answer["tenants"]) > len(body["tenants"]):
                            failures.append((path, "more answers than entries", len(answer["tenants"])))
            except Exception as e:  # noqa: BLE001 - any client error is a failed request
                failures.append(("client", number, repr(e)))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hung")
        self.assertEqual(failures, [])
        total = sum(len(v) for v in issued.values())
        self.assertGreater(total, CLIENTS * REQUESTS_PER_CLIENT // 4)
        for t, generations in issued.items():
            self.assertEqual(len(generations), len(set(generations)), f"{t} was handed a generation twice")
        # The shim's own count agrees: every request answered 200.
        ok = sum(self.shim.metric(f'gencontrol_http_requests_total{{route="{route}",method="POST",status="200"}}') or 0
                 for route in ("/debug/v1/attach-hook", "/upcall/v1/validate", "/upcall/v1/re-attach"))
        self.assertGreaterEqual(ok, CLIENTS * REQUESTS_PER_CLIENT)


    def test_validates_sharing_a_call_each_get_exactly_their_own_answer(self):
        shim = Shim("concurrency-coalesce", 15478, self.cluster.conninfo(DATABASE), args=["--validate-calls", "1"])
        self.addCleanup(shim.stop)
        shim.start()
        known = [tenant(0x9000 + i, (i % 4, 4) if i % 5 == 0 else None) for i in range(40)]
        unknown = [tenant(0x9900 + i) for i in range(10)]
        generation = {}
        for i, t in enumerate(known):
            response = shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1 + i % NODES})
            self.assertEqual(response.status, 200, response)
            generation[t] = response.json()["gen"]
        failures = []

        def client(number):
            rng = random.Random(1000 + number)
            conn = http.client.HTTPConnection("127.0.0.1", shim.port, timeout=60)
            try:
                for _ in range(30):
                    entries, expected = [], []
                    for _ in range(rng.choice((1, 2, 5, 64, 128))):
                        t = rng.choice(known + unknown)
                        gen = rng.choice((generation.get(t, 1), generation.get(t, 1) + 1, 0, 4294967295))
                        entries.append({"id": t, "gen": gen})
                        if t in generation:
                            expected.append({"id": t, "valid": gen == generation[t]})
                    conn.request("POST", "/upcall/v1/validate", body=json.dumps({"tenants": entries}),
                                 headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    payload = response.read()
                    if response.status != 200 or json.loads(payload) != {"tenants": expected}:
                        failures.append((number, response.status, payload[:200], entries[:4]))
            except Exception as e:  # noqa: BLE001 - any client error is a failed request
                failures.append(("client", number, repr(e)))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hung")
        self.assertEqual(failures, [])
        calls = shim.metric("gencontrol_validate_calls_total ")
        requests = shim.metric("gencontrol_validate_call_requests_total ")
        self.assertEqual(requests, 32 * 30)
        self.assertLess(calls, requests, "no two validate requests ever shared a call")

    def test_attaches_sharing_a_transaction_each_get_their_own_answer(self):
        # Control, run by hand (2026-12-02): AttachBatcher answering a refused shared call's error
        # to every request in it, instead of trying each alone: the other requests got 404 and
        # this test failed.
        # One pooled connection, so one attach call at a time: while it waits for a row lock held
        # here, every other attach-hook waits in the shim, and all of them go in the next call.
        shim = Shim("concurrency-attach", 15485, self.cluster.conninfo(DATABASE), args=["--pool-size", "1"])
        self.addCleanup(shim.stop)
        shim.start()
        held = tenant(0xA000)
        shards = [tenant(0xA100 + i, (i % 2, 2) if i % 3 == 0 else None) for i in range(8)]
        unregistered = tenant(0xA200)
        generation = {}
        for t in [held] + shards[:4]:  # half of them exist before, half are created by the shared call
            response = shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1})
            self.assertEqual(response.status, 200, response)
            generation[t] = response.json()["gen"]
        cur = self.connect().cursor()

        def counts():
            return (shim.metric("gencontrol_attach_calls_total "), shim.metric("gencontrol_attach_call_requests_total "))

        def burst(bodies):
            """Holds `held`'s row, lets an attach of it take the only connection and wait, sends
            `bodies` meanwhile (each on its own connection), then lets go: (status, answer) each."""
            locker, thread, first = self.hold_and_attach(shim, held, cur)
            sockets = send_attach_hooks(shim.port, bodies)
            time.sleep(0.5)  # only sequencing: every request has reached the shim and waits there
            locker.commit()
            thread.join(60)
            self.assertEqual(first["r"].status, 200, first["r"])
            generation[held] = first["r"].json()["gen"]
            return read_answers(sockets)

        # A shared call that one request makes fail (an unregistered node): nothing of it is kept,
        # each request goes again alone, and only that one is refused. shards[0] twice: the second
        # waits for a call of its own (a call carries a shard once).
        calls, requests = counts()
        bodies = ([{"tenant_shard_id": t, "node_id": 3} for t in shards] +
                  [{"tenant_shard_id": unregistered, "node_id": 999}, {"tenant_shard_id": shards[0], "node_id": 4}])
        answers = burst(bodies)
        for t, (status, answer) in zip(shards, answers):
            self.assertEqual(status, 200, (t, answer))
            self.assertEqual(answer["gen"], generation.get(t, 0) + 1, t)
            generation[t] = answer["gen"]
        self.assertEqual(answers[8][0], 404, answers[8])
        self.assertIn("999", answers[8][1]["msg"])
        self.assertEqual(answers[9], (200, {"gen": generation[shards[0]] + 1}))
        generation[shards[0]] += 1
        after_calls, after_requests = counts()
        # The held attach; the shared call of the 9 distinct shards, refused; each of them alone;
        # then the repeated shard.
        self.assertEqual((after_calls - calls, after_requests - requests), (1 + 1 + 9 + 1, 1 + 9 + 9 + 1))
        response = shim.post("/debug/v1/inspect", {"tenant_shard_id": unregistered})
        self.assertEqual(response.json(), {"attachment": None})
        for t in shards:
            self.assertEqual(shim.post("/debug/v1/inspect", {"tenant_shard_id": t}).json()["attachment"][0],
                             generation[t])
        # One history row per attach answered: the refused call left none.
        expected_rows = {t: (2 if t in shards[:4] else 1) + (1 if t == shards[0] else 0) for t in shards}
        self.assertEqual({t: self.attach_log_rows(cur, t) for t in shards}, expected_rows)

        # Without a refusal, the waiting requests are one transaction and each its own generation.
        calls, requests = counts()
        answers = burst([{"tenant_shard_id": t, "node_id": 2} for t in shards])
        self.assertEqual(answers, [(200, {"gen": generation[t] + 1}) for t in shards])
        after_calls, after_requests = counts()
        self.assertEqual((after_calls - calls, after_requests - requests), (2, 1 + len(shards)))

    def test_a_shared_attach_held_up_by_one_locked_row_times_out_for_that_shard_only(self):
        # Control, run by hand (2026-12-02): AttachBatcher answering a timed-out shared call's error
        # to every request in it: the other shards got 503 and this test failed.
        shim = Shim("concurrency-attach-timeout", 15486, self.cluster.conninfo(DATABASE),
                    args=["--pool-size", "1", "--request-timeout", "1"])
        self.addCleanup(shim.stop)
        shim.start()
        held = tenant(0xB000)
        others = [tenant(0xB100 + i) for i in range(4)]
        generation = {}
        for t in [held] + others:
            response = shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1})
            self.assertEqual(response.status, 200, response)
            generation[t] = response.json()["gen"]
        cur = self.connect().cursor()
        locker, thread, first = self.hold_and_attach(shim, held, cur)
        self.addCleanup(locker.rollback)
        # Sent while the first call waits: the held shard again and four others, one shared call
        # that the locked row holds up past the request timeout.
        answers = read_answers(send_attach_hooks(shim.port, [{"tenant_shard_id": t, "node_id": 3}
                                                             for t in [held] + others]))
        thread.join(60)
        self.assertEqual(first["r"].status, 503, first["r"])
        self.assertEqual(answers[0][0], 503, answers[0])
        self.assertIn("did not answer", answers[0][1]["msg"])
        self.assertEqual(answers[1:], [(200, {"gen": generation[t] + 1}) for t in others])
        locker.rollback()
        # Nothing of the timed-out calls stayed: the held shard kept its generation, and each of the
        # others has one more history row, from its own call.
        self.assertEqual(shim.post("/debug/v1/inspect", {"tenant_shard_id": held}).json()["attachment"],
                         [generation[held], 1])
        for t in [held] + others:
            self.assertEqual(self.attach_log_rows(cur, t), 1 if t == held else 2, t)


if __name__ == "__main__":
    unittest.main()
