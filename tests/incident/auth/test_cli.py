"""`stormline users` and `stormline tokens` against a data folder, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.server import STORMLINE


def _run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORMLINE_")}
    env["STORMLINE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [STORMLINE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_first_admin_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    """An admin is created with a password from stdin; a token is printed once; lists never show secrets."""
    added = _run(
        tmp_path,
        "users",
        "add",
        "chief",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert added.returncode == 0, added.stderr
    assert "chief\tadmin" in _run(tmp_path, "users", "list").stdout
    created = _run(tmp_path, "tokens", "create", "psap-erie", "--role", "psap")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("slt_")
    assert "not kept" in created.stderr
    listing = _run(tmp_path, "tokens", "list").stdout
    assert "psap-erie\tpsap" in listing
    assert secret not in listing
    assert _run(tmp_path, "tokens", "revoke", "psap-erie").returncode == 0
    assert "psap-erie" not in _run(tmp_path, "tokens", "list").stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("users", "add", "x1", "--role", "agent", "--password-stdin"), "short\n", "at least 12"),
        (
            ("users", "add", "van", "--role", "crew", "--password-stdin"),
            "a long enough passphrase\n",
            "--crew",
        ),
        (("users", "add", "bot", "--role", "agent", "--password-stdin"), "a long enough passphrase\n", None),
        (("users", "disable", "ghost"), None, "no account"),
        (("tokens", "revoke", "ghost"), None, "no token"),
    ],
)
def test_refusals_say_why(
    tmp_path: Path, args: tuple[str, ...], stdin: str | None, message: str | None
) -> None:
    """Bad requests exit 1 with the reason; a good one exits 0."""
    result = _run(tmp_path, *args, stdin=stdin)
    if message is None:
        assert result.returncode == 0, result.stderr
        again = _run(tmp_path, *args, stdin=stdin)
        assert again.returncode == 1
        assert "already" in again.stderr
    else:
        assert result.returncode == 1
        assert message in result.stderr


def test_no_account_exists_until_one_is_made(tmp_path: Path) -> None:
    """A new installation has no accounts at all: no default admin, no default password."""
    result = _run(tmp_path, "users", "list")
    assert result.returncode == 0
    assert result.stdout == ""
