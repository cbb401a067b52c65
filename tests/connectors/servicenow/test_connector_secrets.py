"""Credentials never leave the connector: not in exception text, not in logs, not in its repr; and an
OAuth bearer token works in place of a password."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from bridge.connector import OutcomeStatus, WebhookRejectedError
from bridge.domain.actions import AddWorkNote
from bridge.domain.events import ChangeUpdated, RecordRef, Source
from bridge.errors import BridgeError, PermanentError, TransientError
from connectors.servicenow.connector import ServiceNowConnector
from connectors.simulation import free_port

if TYPE_CHECKING:
    from tests.servicenow_connector_fixtures import Snow

pytest_plugins = ["tests.servicenow_connector_fixtures"]

PASSWORD = "Pa55-word-not-to-leak"
TOKEN = "long-lived-token"
WEBHOOK_SECRET = "hook-secret-not-to-leak"
SYS_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
NOW = datetime(2024, 5, 1, 11, tzinfo=UTC)


def _assert_hidden(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


def _failures(snow_connector: ServiceNowConnector) -> list[BridgeError]:
    """What every kind of call raises (or reports) against an instance that refuses or is not there."""
    errors: list[BridgeError] = []
    for call in (
        lambda: snow_connector.poll(None, now=NOW),
        lambda: snow_connector.fetch(RecordRef(Source.SERVICENOW, "change", SYS_ID)),
        snow_connector.check_fields,
    ):
        with pytest.raises(BridgeError) as raised:
            call()
        errors.append(raised.value)
    return errors


def test_a_refused_password_appears_nowhere(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector], caplog: pytest.LogCaptureFixture
) -> None:
    snow_connector = make_snow_connector(snow.url, password=PASSWORD, webhook_secret=WEBHOOK_SECRET)
    with caplog.at_level(logging.DEBUG):
        errors = _failures(snow_connector)
        (outcome,) = snow_connector.apply([AddWorkNote(SYS_ID, "CHG0000001", "note")])
    assert all(isinstance(e, PermanentError) and "HTTP 401" in str(e) for e in errors)
    assert outcome.status is OutcomeStatus.FAILED and "User Not Authenticated" in outcome.detail
    texts = (
        [str(e) for e in errors]
        + [repr(e) for e in errors]
        + [outcome.detail, caplog.text, repr(snow_connector)]
    )
    for secret in (PASSWORD, WEBHOOK_SECRET):
        _assert_hidden(secret, *texts)
    assert "bridge.integration" in repr(snow_connector), "the user name is shown, the password is not"


def test_an_unreachable_instance_leaks_nothing(
    make_snow_connector: Callable[..., ServiceNowConnector], caplog: pytest.LogCaptureFixture
) -> None:
    snow_connector = make_snow_connector(f"http://127.0.0.1:{free_port()}", password=PASSWORD, total_s=0)
    with caplog.at_level(logging.DEBUG):
        errors = _failures(snow_connector)
        (outcome,) = snow_connector.apply([AddWorkNote(SYS_ID, "CHG0000001", "note")])
    assert all(isinstance(e, TransientError) and "unreachable" in str(e) for e in errors)
    assert outcome.status is OutcomeStatus.RETRY
    _assert_hidden(PASSWORD, *[str(e) for e in errors], outcome.detail, caplog.text, repr(snow_connector))


def test_a_rejected_webhook_does_not_echo_the_secret(
    snow: Snow, make_snow_connector: Callable[..., ServiceNowConnector], caplog: pytest.LogCaptureFixture
) -> None:
    snow_connector = make_snow_connector(snow.url, webhook_secret=WEBHOOK_SECRET)
    with caplog.at_level(logging.DEBUG), pytest.raises(WebhookRejectedError) as raised:
        snow_connector.parse_webhook({"X-Bridge-Signature": WEBHOOK_SECRET}, b"{}")
    _assert_hidden(WEBHOOK_SECRET, str(raised.value), caplog.text, repr(snow_connector))


def test_an_oauth_token_reads_the_instance_and_stays_hidden(
    oauth_instance: Any,
    make_snow_connector: Callable[..., ServiceNowConnector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    created = oauth_instance.sim.insert("change_request", {"short_description": "via a token"})
    snow_connector = make_snow_connector(oauth_instance.url, user=None, password=None, oauth_token=TOKEN)
    with caplog.at_level(logging.DEBUG):
        change = snow_connector.fetch(RecordRef(Source.SERVICENOW, "change", created["sys_id"]))
    assert isinstance(change, ChangeUpdated) and change.short_description == "via a token"
    assert "oauth" in repr(snow_connector)
    _assert_hidden(TOKEN, caplog.text, repr(snow_connector))


def test_a_refused_token_appears_nowhere(
    oauth_instance: Any,
    make_snow_connector: Callable[..., ServiceNowConnector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "expired-token-not-to-leak"
    snow_connector = make_snow_connector(oauth_instance.url, user=None, password=None, oauth_token=wrong)
    with caplog.at_level(logging.DEBUG):
        errors = _failures(snow_connector)
    assert all("HTTP 401" in str(e) for e in errors)
    _assert_hidden(wrong, *[str(e) for e in errors], caplog.text, repr(snow_connector))
