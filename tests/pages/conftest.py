"""Real headless Chromium (Debian's) driven by Playwright, against a real `stormline serve`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.server import Server, free_port

CHROMIUM_FLAGS = [
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-background-networking",  # no reaching for the internet
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Collects Content-Security-Policy violations the page reports, before any page script runs.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', (e) => window.__cspViolations.push('script error: ' + e.message));
"""


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


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    """Stormline on a loopback port, with an admin account 'chief'."""
    server = Server(tmp_path, port=free_port()).start()
    made = server.cli(
        "users", "add", "chief", "--role", "admin", "--password-stdin", stdin="a long enough passphrase\n"
    )
    assert made.returncode == 0, made.stderr
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, live: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=live.url)
    context.add_init_script(CSP_PROBE)
    opened = context.new_page()
    yield opened
    context.close()


def csp_violations(page: Page) -> list[str]:
    """CSP violations the page reported, and any script error on it (both must be none)."""
    return list(page.evaluate("window.__cspViolations"))


PASSWORD = "a long enough passphrase"


def sign_in_as(page: Page, live: Server, name: str, role: str, *extra: str) -> None:
    """Make an account (`stormline users add`) and sign it in on this page, as a person would."""
    made = live.cli("users", "add", name, "--role", role, *extra, "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"{name} ({role})")).to_be_visible()
