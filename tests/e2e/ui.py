"""How the tests work Streamlit widgets: by the names a user reads (labels, button texts).

Streamlit reruns the page script over a websocket after every interaction, so every helper
ends by waiting for something the user would see, never by sleeping. ``page.goto`` would
start a new Streamlit session: after the first load the tests move only with the app's links
and buttons.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from playwright.sync_api import expect

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Locator, Page

TICKET_NUMBER = re.compile(r"HD-\d{4}-\d{6}")
SESSION_COOKIE = "itsm_session"


def _label(text: str) -> re.Pattern[str]:
    """A widget label as the form renders it: required fields carry a trailing " *"."""
    return re.compile(rf"^{re.escape(text)}( \*)?$")


def main(page: Page) -> Locator:
    return page.get_by_test_id("stMain")


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def log_out_link(page: Page) -> Locator:
    return sidebar(page).get_by_role("button", name="Log out")


def wait_idle(page: Page) -> None:
    """Wait until Streamlit has finished running the page script."""
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def open_app(page: Page) -> None:
    page.goto("/")
    wait_idle(page)


def login_form(page: Page) -> Locator:
    return page.get_by_role("button", name="Log in")


def log_in(
    page: Page, username: str, password: str, shot: Callable[[Page, str], Path] | None = None
) -> None:
    expect(login_form(page)).to_be_visible()
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    if shot:
        shot(page, f"login-{username}")
    page.get_by_role("button", name="Log in").click()
    # The login page hands over to /auth/complete (sets the cookie), which redirects to "/".
    expect(log_out_link(page)).to_be_visible()
    wait_idle(page)
    if shot:
        shot(page, f"logged-in-{username}")


def session_cookie(page: Page) -> dict[str, object] | None:
    for cookie in page.context.cookies():
        if cookie.get("name") == SESSION_COOKIE:
            return dict(cookie)
    return None


def go_to(page: Page, title: str) -> None:
    """Follow a page link in the sidebar navigation and wait for the page's title."""
    sidebar(page).get_by_role("link", name=title, exact=True).click()
    expect(main(page).get_by_role("heading", name=title, level=1)).to_be_visible()
    wait_idle(page)


def fill(page: Page, label: str, text: str) -> None:
    """A text input or text area (both have the role textbox)."""
    main(page).get_by_role("textbox", name=_label(label)).fill(text)


def fill_number(page: Page, label: str, value: int) -> None:
    main(page).get_by_role("spinbutton", name=_label(label)).fill(str(value))


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of a select box by its visible text."""
    box = main(page).get_by_role("combobox", name=_label(label))
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def pick_radio(page: Page, label: str, option: str) -> None:
    """Pick a radio option by its visible text."""
    group = main(page).get_by_role("radiogroup", name=_label(label))
    group.get_by_text(option, exact=True).click()
    expect(group.get_by_role("radio", name=option, exact=True)).to_be_checked()


def click(page: Page, name: str, within: Locator | None = None) -> None:
    (within or main(page)).get_by_role("button", name=name, exact=True).click()


def row(page: Page, text: str) -> Locator:
    """A list row (a set of columns) that shows ``text``."""
    return main(page).get_by_test_id("stHorizontalBlock").filter(has_text=text)


def success(page: Page) -> Locator:
    return main(page).get_by_test_id("stAlertContentSuccess")


def ticket_page(page: Page, number: str) -> Locator:
    """The ticket page (not a task page, whose summary shows the number too): its tabs."""
    expect(main(page).get_by_role("heading", name=re.compile(re.escape(number)))).to_be_visible()
    return main(page).get_by_role("tab", name="Timeline")


def ticket_status(page: Page) -> Locator:
    """The ticket summary's status line ("Status <status> · Priority …")."""
    return main(page).locator("p").filter(has_text=re.compile(r"^\s*Status\b")).first


def status_text(status: str) -> re.Pattern[str]:
    """A status as the summary shows it: "in_progress" or "in progress"."""
    words = r"[ _]".join(map(re.escape, status.replace("_", " ").split()))
    return re.compile(rf"^\s*Status\s*{words}(\s|·|$)")
