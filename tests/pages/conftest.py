"""Real headless Chromium (Debian's) driven by Playwright, against a real `stormline serve`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.pages.helpers import CSP_PROBE
from tests.server import Server, free_port

CHROMIUM_FLAGS = [
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-background-networking",  # no reaching for the internet
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope: while Playwright's sync API is open it holds an event loop on this thread,
    # which other tests' asyncio.run() would trip over.
    executable = shutil.which("chromium")
    assert executable, "Chromium is needed for page tests: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def seeded_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder made once per run: the gazetteer built and stored, an admin account 'chief'."""
    folder = tmp_path_factory.mktemp("seeded")
    server = Server(folder, port=free_port()).start()
    try:
        made = server.cli(
            "users", "add", "chief", "--role", "admin", "--password-stdin", stdin="a long enough passphrase\n"
        )
        assert made.returncode == 0, made.stderr
    finally:
        stopped = server.stop()
    assert stopped == 0, server.output()
    return folder


@pytest.fixture
def live(tmp_path: Path, seeded_folder: Path) -> Iterator[Server]:
    """Stormline on a loopback port, in its own copy of the seeded folder (a build of the gazetteer each
    test would cost ten seconds of it)."""
    folder = tmp_path / "data"
    shutil.copytree(seeded_folder, folder, ignore=shutil.ignore_patterns("*.sock", "*.pid", "*.lock"))
    server = Server(folder, port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, live: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=live.url)
    context.add_init_script(CSP_PROBE)
    opened = context.new_page()
    yield opened
    context.close()
