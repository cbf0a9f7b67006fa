"""What a real node says when it cannot do what it was asked: a layer damaged in the store makes an
attach answer 500, and the node's log carries the reason on that request's line (not only "500"),
so an operator can tell a damaged store from a bug without a debugger."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fleet import TIMELINE, FleetTestCase, tenant_id  # noqa: E402


class NodeErrors(FleetTestCase):
    BASE_PORT = 15840

    def test_a_500_is_logged_with_its_reason(self):
        f = self.fleet
        t = tenant_id(9)
        a, b = f.add_node(), f.add_node()
        f.attach(t, a)
        f.write(a, t, f.records(a, 2))
        f.checkpoint(a, t)
        layers = [o for o in f.objects(t) if o.startswith("delta-")]
        self.assertEqual(len(layers), 1, f.objects(t))
        with open(os.path.join(f.timeline_dir(t), layers[0]), "w") as damaged:
            damaged.write('{"lsn": 1, "key": "k0", "value": "not what the index says"}\n')
        path = f"/v1/tenant/{t}/location_config"
        answer = b.request("PUT", path, {"mode": "AttachedSingle", "generation": f.issue(t, b)})
        self.assertEqual(answer.status, 500, answer)
        with open(b.log_path, errors="replace") as log:
            lines = [line for line in log if "500" in line and path in line]
        # The access line (status=500 error=..., cut short by the serving core) starts with the
        # reason; the node's own line for a server error carries all of it, the layer's key too.
        access = [line for line in lines if "status=500" in line]
        self.assertEqual(len(access), 1, b.log_tail())
        self.assertIn("does not match its size or checksum", access[0])
        full = [line for line in lines if "request failed" in line]
        self.assertEqual(len(full), 1, b.log_tail())
        self.assertIn("does not match its size or checksum", full[0])
        self.assertIn(layers[0], full[0])
        # The node stays up and serving; the shard is simply not attached there.
        b.tenant(t, status=404)
        self.assertEqual(set(a.read(t, TIMELINE).json()["records"]), {"k0", "k1"})


if __name__ == "__main__":
    unittest.main()
