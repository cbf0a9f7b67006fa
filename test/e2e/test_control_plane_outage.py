"""The control plane goes away for a while (the shim stopped, or PostgreSQL behind it stopped):
nodes keep ingesting and uploading, nothing is deleted and nothing becomes visible; a node that
restarts meanwhile waits in re-attach (tenant routes 503). When it is back, validation resumes,
the visible LSN catches up and the deletion queue drains."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fleet import TIMELINE, FleetTestCase, in_background, tenant_id, wait_for  # noqa: E402
from test_migration import counters, layers_on_disk  # noqa: E402


class ControlPlaneOutage(FleetTestCase):
    BASE_PORT = 15780

    def outage(self, t, stop, start):
        f = self.fleet
        a = f.add_node()
        f.attach(t, a)
        for i in range(3):
            f.write(a, t, f.records(a, 2, [f"k{i}", f"j{i}"]))
            f.checkpoint(a, t)
        visible = a.tenant(t).json()["timelines"][TIMELINE]["remote_consistent_lsn_visible"]
        replaced = layers_on_disk(f, t)
        stop()
        try:
            # Ingest and upload continue; the checkpoint's answer waits for a validation.
            lsn = f.write(a, t, f.records(a, 2, ["k0", "new"])).json()["lsn"]
            checkpoint, answer = in_background(lambda: f.checkpoint(a, t, timeout=300))

            def uploaded():
                return a.tenant(t).json()["timelines"][TIMELINE]["remote_consistent_lsn"] >= lsn
            wait_for(uploaded, "the node uploads while the control plane is down")
            compaction, _ = in_background(lambda: a.compact(t, TIMELINE))
            flush, _ = in_background(lambda: a.flush_deletions(timeout=300))
            time.sleep(1)  # give a wrong node the chance to delete or publish
            tl = a.tenant(t).json()["timelines"][TIMELINE]
            self.assertEqual(tl["remote_consistent_lsn_visible"], visible, tl)
            self.assertLessEqual(replaced, layers_on_disk(f, t), "deleted without a validation")
            self.assertEqual(counters(a)["executed"], 0)
            if "value" in answer:  # answered without waiting for validation: nothing new visible
                self.assertEqual(answer["value"].json()["remote_consistent_lsn_visible"], visible)
            # A node restarted now cannot re-attach: it answers 503 for tenants until it can.
            b = f.add_node(start=False)
            b.start(wait=False)
            wait_for(lambda: b.probe("/status") == 200, "b's /status")
            resp = b.request("GET", f"/v1/tenant/{t}")
            self.assertEqual(resp.status, 503, resp)
            self.assertIsNotNone(resp.header("Retry-After"), resp.headers)
        finally:
            start()
        checkpoint.join(120)
        compaction.join(120)
        flush.join(120)
        self.assertNotIn("error", answer)
        # Back: a checkpoint validates again, and everything uploaded meanwhile becomes visible.
        self.assertGreaterEqual(f.checkpoint(a, t).json()["remote_consistent_lsn_visible"], lsn)
        b.wait_ready()
        a.flush_deletions()
        self.assertEqual(replaced & layers_on_disk(f, t), set(), counters(a))
        self.assertGreater(counters(a)["executed"], 0)
        self.assertClean(f.check())

    def test_shim_stopped(self):
        self.outage(tenant_id(8), self.stop_shim, self.start_shim)

    def test_database_stopped(self):
        self.outage(tenant_id(9), lambda: self.cluster.stop("fast"), self.cluster.start)


if __name__ == "__main__":
    unittest.main()
