"""What the page tests share besides fixtures: signing in as a person would, and what a page reported."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.server import Server
from tests.support import ROOT

ARTIFACTS = ROOT / "test-artifacts"  # screenshots, for a person to look at
# Collects Content-Security-Policy violations the page reports, before any page script runs.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', (e) => window.__cspViolations.push('script error: ' + e.message));
"""


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
