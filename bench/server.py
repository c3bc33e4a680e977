"""What the benchmarks and the load test share: a Stormline of their own to measure.

`stormline serve` in a folder of its own, on a free loopback port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

STORMLINE = str(Path(sys.executable).parent / "stormline")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BenchServer:
    """`stormline serve` with `workers` workers on a free loopback port; `with` starts and stops it.

    Its data, and its embedded Redis unless `STORMLINE_REDIS_URL` names another, are in `data_dir`.
    """

    def __init__(self, data_dir: Path, workers: int = 1, **env: str) -> None:
        self.data_dir, self.workers_wanted = data_dir, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("STORMLINE_")}
        self.env = {
            **clean,
            "STORMLINE_DATA_DIR": str(data_dir),
            "STORMLINE_LOG_LEVEL": "warning",
            "STORMLINE_PUBLIC_URL": self.url,  # where the benchmark's agencies reach it
            **env,
        }
        self.redis_url = env.get("STORMLINE_REDIS_URL") or f"unix://{data_dir / 'redis.sock'}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchServer:
        self.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        """Start it; return once it answers and all its workers are up (the faults need their pids)."""
        with open(self.data_dir / "serve.log", "wb") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
                [
                    STORMLINE,
                    "serve",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers_wanted),
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.data_dir / "serve.log").read_text()[-2000:]
                raise SystemExit(f"stormline serve exited:\n{tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as probe:
                    probe.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if probe.recv(12).endswith(b"200") and len(self.workers()) >= self.workers_wanted:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"stormline serve was not ready in {timeout:.0f} s")

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `stormline ARGS` on this server's data, as an operator would; its output."""
        done = subprocess.run(  # noqa: S603 - our own executable, fixed arguments
            [STORMLINE, *args], env=self.env, input=stdin, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def token(self, role: str) -> str:
        """A new API token of `role`."""
        return self.cli(
            "tokens", "create", f"bench-{role}-{time.monotonic_ns()}", "--role", role
        ).splitlines()[0]

    def workers(self) -> list[int]:
        """The Hypercorn worker processes: the serve process's spawned Python children."""
        assert self.process is not None
        pid = self.process.pid
        found = []
        for child in map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split()):
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
            except OSError:
                continue
        return found

    def redis_pid(self) -> int:
        return int((self.data_dir / "redis.pid").read_text())

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the workers together, and the embedded Redis with its children."""
        used = {"workers": sum(map(process_cpu, self.workers()))}
        if not self.env.get("STORMLINE_REDIS_URL"):
            used["redis"] = process_cpu(self.redis_pid(), children=True)
        return used

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def process_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user and system) a process has used; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = sum(int(value) for value in fields[11 : 15 if children else 13])  # utime stime [cutime cstime]
    return ticks / os.sysconf("SC_CLK_TCK")
