"""A `stormline serve` process for tests that need the real thing: real HTTP, the embedded Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STORMLINE = str(Path(sys.executable).parent / "stormline")
# A first start builds the gazetteer (ten seconds alone); with every core running tests, three times that.
_READY_S = 90


class Server:
    """A `stormline serve` process listening on a unix socket in a temporary folder."""

    def __init__(self, data_dir: Path, workers: int = 1, port: int | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.socket = data_dir / "http.sock"
        self.port = port  # serve on 127.0.0.1:port instead of the unix socket (for a browser)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("STORMLINE_")}
        self.env = {
            **clean,
            "STORMLINE_DATA_DIR": str(data_dir),
            "STORMLINE_WORKERS": str(workers),
            "STORMLINE_PUBLIC_URL": f"http://127.0.0.1:{port}" if port else "http://stormline",
            **env,
        }
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Server:
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [STORMLINE, "serve", "--bind", f"127.0.0.1:{self.port}" if self.port else f"unix:{self.socket}"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + _READY_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            # Probe with a plain socket first: a refused connect leaks a socket inside httpx.
            if self._accepting():
                with self.client() as client:
                    if client.get("/readyz").status_code == 200:
                        return self
            time.sleep(0.1)
        raise AssertionError(f"not ready in {_READY_S} s:\n{self.output()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}" if self.port else "http://stormline"

    def _accepting(self) -> bool:
        family, address = (
            (socket.AF_INET, ("127.0.0.1", self.port)) if self.port else (socket.AF_UNIX, str(self.socket))
        )
        with socket.socket(family) as probe:
            try:
                probe.connect(address)
            except OSError:
                return False
        return True

    def client(self, token: str | None = None) -> httpx.Client:
        transport = None if self.port else httpx.HTTPTransport(uds=str(self.socket))
        return httpx.Client(transport=transport, base_url=self.url, headers=_bearer(token))

    def async_client(self, token: str | None = None) -> httpx.AsyncClient:
        transport = None if self.port else httpx.AsyncHTTPTransport(uds=str(self.socket))
        return httpx.AsyncClient(transport=transport, base_url=self.url, timeout=30, headers=_bearer(token))

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `stormline ARGS` against this server's data folder, as an operator would."""
        return subprocess.run(
            [STORMLINE, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def token(self, role: str, name: str | None = None, crew: str | None = None) -> str:
        """A new API token made with `stormline tokens create`."""
        extra = ["--crew", crew] if crew else []
        result = self.cli(
            "tokens", "create", name or f"t-{role}-{time.monotonic_ns()}", "--role", role, *extra
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)  # waits, and closes the output pipe
        return self.process.returncode

    def output(self) -> str:
        assert self.process is not None
        if self.process.poll() is None:
            return "(still running)"
        return self.process.communicate()[0]


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
