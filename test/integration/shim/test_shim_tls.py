"""gencontrol-http over HTTPS (--tls-cert, --tls-key) with self-signed certificates made here by
openssl, and SIGHUP: a new JWT key is accepted and a removed one refused, a new certificate serves
new handshakes while open connections stay, and a broken file leaves the old one in force, logged.

PostgreSQL on 15459; the shim on 15482.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest

from harness import ClusterTestCase, DATABASE
from shimproc import Ed25519Key, Shim, make_certificate

PORT = 15482


def client_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = True
    return context


def served_certificate(ca_file):
    """The DER certificate a new handshake presents, verified against ca_file (raises if not)."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as raw:
        with client_context(ca_file).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def der(cert_file):
    with open(cert_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class ShimTlsTest(ClusterTestCase):
    PORT = 15459

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="gencontrol-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.keys = os.path.join(cls.dir, "keys")
        os.mkdir(cls.keys)
        cls.old_key = Ed25519Key(cls.dir, "old")
        cls.new_key = Ed25519Key(cls.dir, "new")
        shutil.copy(cls.old_key.public, os.path.join(cls.keys, "old.pub"))
        cls.first = make_certificate(cls.dir, "first")
        cls.second = make_certificate(cls.dir, "second")
        # The shim reads the certificate from fixed paths; rotation replaces the files.
        cls.cert = os.path.join(cls.dir, "serving.crt")
        cls.key = os.path.join(cls.dir, "serving.key")
        shutil.copy(cls.first[0], cls.cert)
        shutil.copy(cls.first[1], cls.key)
        cls.shim = Shim("tls", PORT, cls.cluster.conninfo(DATABASE), keys=[cls.keys],
                        args=["--tls-cert", cls.cert, "--tls-key", cls.key])
        cls.addClassCleanup(cls.shim.stop)
        cls.shim.start(wait=False)
        deadline = time.monotonic() + 10
        while True:
            try:
                served_certificate(cls.first[0])
                break
            except OSError:
                if time.monotonic() > deadline or not cls.shim.alive():
                    raise RuntimeError(cls.shim.log())
                time.sleep(0.1)

    def https(self, ca_file, method, path, body=None, token=None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPSConnection("127.0.0.1", PORT, timeout=10, context=client_context(ca_file))
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if own:
            conn.close()
        return response.status, data

    def sighup_and_wait(self, marker):
        before = self.shim.log().count(marker)
        self.shim.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.shim.log().count(marker) <= before:
            self.assertLess(time.monotonic(), deadline, self.shim.log_tail())
            time.sleep(0.05)

    def test_1_https_with_a_self_signed_certificate(self):
        self.assertEqual(served_certificate(self.first[0]), der(self.first[0]))
        status, body = self.https(self.first[0], "GET", "/status")
        self.assertEqual(status, 200)
        token = self.old_key.token({"scope": "generations_api"})
        status, body = self.https(self.first[0], "POST", "/upcall/v1/validate", {"tenants": []}, token=token)
        self.assertEqual((status, json.loads(body)), (200, {"tenants": []}))
        # Plain HTTP to the HTTPS port gets no answer from a route.
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            conn.request("GET", "/status")
            self.assertNotEqual(conn.getresponse().status, 200)
        except (OSError, http.client.HTTPException):
            pass
        # A client that does not trust the certificate refuses it.
        with self.assertRaises(ssl.SSLError):
            served_certificate(self.second[0])

    def test_2_sighup_rotates_keys_and_certificate_and_keeps_connections(self):
        old_token = self.old_key.token({"scope": "generations_api"})
        new_token = self.new_key.token({"scope": "generations_api"})
        kept = http.client.HTTPSConnection("127.0.0.1", PORT, timeout=10, context=client_context(self.first[0]))
        self.addCleanup(kept.close)
        self.assertEqual(self.https(self.first[0], "GET", "/status", conn=kept)[0], 200)
        self.assertEqual(self.https(self.first[0], "POST", "/upcall/v1/validate", {"tenants": []},
                                    token=new_token)[0], 401)

        # Rotate: the new key in, the old key out, the second certificate in place of the first.
        shutil.copy(self.new_key.public, os.path.join(self.keys, "new.pub"))
        os.remove(os.path.join(self.keys, "old.pub"))
        shutil.copy(self.second[0], self.cert)
        shutil.copy(self.second[1], self.key)
        self.sighup_and_wait("TLS certificate and key reloaded")
        self.assertIn("JWT keys reloaded", self.shim.log())

        self.assertEqual(served_certificate(self.second[0]), der(self.second[0]))
        status, _ = self.https(self.second[0], "POST", "/upcall/v1/validate", {"tenants": []}, token=new_token)
        self.assertEqual(status, 200)
        status, body = self.https(self.second[0], "POST", "/upcall/v1/validate", {"tenants": []}, token=old_token)
        self.assertEqual(status, 401, body)
        # The connection opened before the rotation still carries requests, on its old session.
        self.assertEqual(self.https(None, "GET", "/status", conn=kept)[0], 200)
        self.assertEqual(self.https(None, "POST", "/upcall/v1/validate", {"tenants": []}, token=new_token,
                                    conn=kept)[0], 200)

        # A broken certificate and a broken key file: both are logged and the old ones stay.
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        with open(os.path.join(self.keys, "zz-broken.pub"), "w") as f:
            f.write("not a key\n")
        self.sighup_and_wait("TLS files not reloaded")
        self.assertIn("JWT keys not reloaded", self.shim.log())
        self.assertEqual(served_certificate(self.second[0]), der(self.second[0]))
        status, _ = self.https(self.second[0], "POST", "/upcall/v1/validate", {"tenants": []}, token=new_token)
        self.assertEqual(status, 200)
        self.assertTrue(self.shim.alive())


if __name__ == "__main__":
    unittest.main()
