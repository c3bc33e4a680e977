"""Signing in, managing tokens and signing out in a real browser; CSP and CSRF hold."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.pages.helpers import csp_violations


def _sign_in(page: Page, name: str = "chief", password: str = "a long enough passphrase") -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_admin_signs_in_creates_and_revokes_a_token_without_csp_violations(page: Page) -> None:
    """A protected page asks for sign-in, returns there after it, and every page satisfies the CSP."""
    response = page.goto("/admin/tokens")
    assert response is not None
    assert "/login?next=/admin/tokens" in page.url  # sent to sign in
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _sign_in(page)
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    assert page.url.endswith("/admin/tokens")
    page.get_by_label("Name").fill("agency-redcross")
    page.get_by_label("Role").select_option("agency")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_contain_text("slt_")
    page.get_by_role("row", name="agency-redcross").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    # The stylesheet applied: it comes from Stormline, which the CSP allows.
    assert page.evaluate("getComputedStyle(document.querySelector('header')).display") == "flex"
    assert csp_violations(page) == []


def test_form_post_without_csrf_token_is_refused(page: Page) -> None:
    """Removing the CSRF field from a form makes its post fail with 403, and nothing is created."""
    page.goto("/login")
    _sign_in(page)
    page.goto("/admin/tokens")
    page.get_by_label("Name").fill("forged")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((field) => field.remove())")
    with page.expect_response("**/admin/tokens") as answer:
        page.get_by_role("button", name="Create token").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("CSRF")
    page.goto("/admin/tokens")
    expect(page.get_by_text("No tokens yet.")).to_be_visible()


def test_wrong_password_and_sign_out(page: Page) -> None:
    """A wrong password shows a plain message; signing out returns to the sign-in page for good."""
    page.goto("/login")
    _sign_in(page, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    _sign_in(page)
    expect(page.get_by_text("chief (admin)")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/admin/tokens")
    assert "/login?next=/admin/tokens" in page.url
    assert csp_violations(page) == []
