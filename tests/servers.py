"""Real servers for the tests: `nmt-rules serve` on a free loopback port, and a JWKS host.

Everything listens on 127.0.0.1 only; every server is stopped by the fixture that started it.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class Server:
    """A running `nmt-rules serve` process and a client for it."""

    url: str
    process: subprocess.Popen[bytes]
    client: httpx.Client

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send a signal and wait for the process to end; its exit code (killed if it has
        not ended in time, and then the wait's TimeoutExpired propagates)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.client.close()


@contextlib.contextmanager
def serve(
    args: Sequence[str] = (), env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Server]:
    """Start `nmt-rules serve` on loopback with these options; stop it afterwards."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "nmt_rules.cli", "serve", "--port", str(port), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(url, process, httpx.Client(base_url=url, timeout=30.0))
    try:
        for _ in range(300):  # up to 30 s for the server to start (planner, plugins)
            if process.poll() is not None:
                raise RuntimeError(f"nmt-rules serve exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if server.client.get("/health").status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("nmt-rules serve did not answer within 30 s")
        yield server
    finally:
        server.stop()


@attrs.define
class Ehr:
    """A CDS client (an EHR): its signing key, and its JWK Set served on loopback."""

    issuer: str
    jwks_url: str
    key: ec.EllipticCurvePrivateKey
    kid: str = "ehr-key-1"

    def token(self, audience: str, **changes: Any) -> str:
        """A JWT as the CDS Hooks spec has clients send: ES384, kid, jku, iss, aud, exp, iat,
        jti. ``changes`` override claims (None removes one); ``headers`` and ``key`` too."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.kid, "jku": self.jwks_url, "typ": "JWT"}
        headers.update(changes.pop("headers", {}))
        key = changes.pop("key", self.key)
        algorithm = changes.pop("algorithm", "ES384")
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


@contextlib.contextmanager
def ehr() -> Iterator[Ehr]:
    """A CDS client whose JWK Set is served over HTTP on loopback."""
    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    keys = json.dumps({"keys": [{**public, "kid": "ehr-key-1", "use": "sig", "alg": "ES384"}]})

    class JwksHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = keys.encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=host.serve_forever, daemon=True)
    thread.start()
    port = host.server_address[1]
    try:
        yield Ehr("https://ehr.example.org", f"http://127.0.0.1:{port}/jwks.json", key)
    finally:
        host.shutdown()
        host.server_close()
        thread.join()


def write_config(path: Path, **values: Any) -> Path:
    """A serve configuration file (TOML) with these values."""
    lines = []
    tables = []
    for key, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for row in value:
                tables.append(f"[[{key}]]")
                tables += [f"{k} = {json.dumps(v)}" for k, v in row.items()]
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join([*lines, *tables]) + "\n", encoding="utf-8")
    return path
