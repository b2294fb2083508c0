"""Password guessing is throttled per username: after ``login_max_failures`` wrong passwords
within the window, that username's logins are refused without checking the password — the
right one included — until the oldest failure ages out; a good login forgets the failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from itsm.bootstrap import Services
from itsm.clock import ManualClock
from itsm.services.accounts import InvalidCredentials, LoginThrottled
from itsm.storage import tables

PASSWORD = "long enough secret"


@pytest.fixture
def accounts(desk: Services) -> Services:
    desk.accounts.set_password("jan.nowak", PASSWORD, "jan.nowak")
    return desk


def fail(desk: Services, username: str = "jan.nowak", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials) as refused:
            desk.accounts.login(username, "wrong guess!")
        assert not isinstance(refused.value, LoginThrottled)


def stored_failures(desk: Services) -> int:
    with desk.database.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(tables.login_failures)).scalar_one()
        )


def test_the_sixth_try_is_refused_even_with_the_right_password(
    accounts: Services, clock: ManualClock
) -> None:
    fail(accounts, times=5)
    with pytest.raises(LoginThrottled, match="try again in 15 min"):
        accounts.accounts.login("jan.nowak", PASSWORD)
    clock.advance(timedelta(minutes=14))
    with pytest.raises(LoginThrottled, match="try again in 1 min"):
        accounts.accounts.login("jan.nowak", PASSWORD)
    clock.advance(timedelta(minutes=1, seconds=1))
    assert accounts.accounts.login("jan.nowak", PASSWORD)  # the oldest failure aged out


def test_a_refused_try_does_not_extend_the_lock(accounts: Services, clock: ManualClock) -> None:
    fail(accounts, times=5)
    for _ in range(20):
        with pytest.raises(LoginThrottled):
            accounts.accounts.login("jan.nowak", "another guess")
    assert stored_failures(accounts) == 5
    clock.advance(timedelta(minutes=15, seconds=1))
    assert accounts.accounts.login("jan.nowak", PASSWORD)


def test_a_good_login_forgets_the_failures(accounts: Services) -> None:
    fail(accounts, times=4)
    assert accounts.accounts.login("jan.nowak", PASSWORD)
    assert stored_failures(accounts) == 0
    fail(accounts, times=4)
    assert accounts.accounts.login("jan.nowak", PASSWORD)


def test_unknown_usernames_are_throttled_alike_and_other_people_are_not(
    accounts: Services,
) -> None:
    fail(accounts, "nobody.here", times=5)
    with pytest.raises(LoginThrottled):
        accounts.accounts.login("nobody.here", PASSWORD)
    fail(accounts, times=5)
    accounts.accounts.set_password("anna.kowalska", PASSWORD, "anna.kowalska")
    assert accounts.accounts.login("anna.kowalska", PASSWORD)


def test_old_failures_are_cleared_as_new_ones_come(accounts: Services, clock: ManualClock) -> None:
    for _ in range(3):
        fail(accounts, times=4)
        clock.advance(timedelta(minutes=16))
    assert stored_failures(accounts) == 4  # only the window's own are kept
