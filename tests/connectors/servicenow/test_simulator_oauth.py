"""OAuth through pysnow's OAuthClient: the token endpoint, bearer tokens, expiry and refresh."""

from __future__ import annotations

from typing import Any

import pysnow
import pytest
import requests

CLIENT_ID, CLIENT_SECRET, STATIC_TOKEN = "bridge-client", "client-secret", "long-lived-token"


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// token URLs unless told this is a test.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _oauth_client(instance: Any, secret: str = CLIENT_SECRET) -> Any:
    return pysnow.OAuthClient(
        client_id=CLIENT_ID, client_secret=secret, host=f"127.0.0.1:{instance.server.port}", use_ssl=False
    )


def test_pysnow_oauth_client_gets_a_token_and_uses_it(oauth_instance: Any) -> None:
    client = _oauth_client(oauth_instance)
    token = client.generate_token(oauth_instance.user, oauth_instance.password)
    # oauthlib hands the scope back as a list.
    assert (token["token_type"], token["scope"], token["expires_in"]) == ("Bearer", ["useraccount"], 1799)
    client.set_token(token)
    changes = client.resource(api_path="/table/change_request")
    record = changes.create(payload={"short_description": "via oauth"}).one()
    assert record["sys_created_by"] == oauth_instance.user
    assert [r["number"] for r in changes.get(query="short_descriptionLIKEoauth").all()] == [record["number"]]


@pytest.mark.parametrize(("secret", "password"), [("wrong", "s3cret-pw"), (CLIENT_SECRET, "wrong")])
def test_a_wrong_client_or_password_gets_no_token(oauth_instance: Any, secret: str, password: str) -> None:
    with pytest.raises(pysnow.exceptions.TokenCreateError):
        _oauth_client(oauth_instance, secret).generate_token(oauth_instance.user, password)
    reply = requests.post(
        f"{oauth_instance.url}/oauth_token.do",
        data={
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "username": oauth_instance.user,
            "password": password,
        },
    )
    assert (reply.status_code, reply.json()) == (
        401,
        {"error_description": "access_denied", "error": "server_error"},
    )


def test_an_expired_token_is_401_and_a_refresh_gives_a_new_one(oauth_instance: Any) -> None:
    token = _oauth_client(oauth_instance).generate_token(oauth_instance.user, oauth_instance.password)
    url = oauth_instance.api("/table/change_request")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(url, headers=bearer).status_code == 200
    oauth_instance.clock.advance(1800)
    expired = requests.get(url, headers=bearer)
    assert expired.status_code == 401 and expired.json()["error"]["message"] == "User Not Authenticated"
    refreshed = requests.post(
        f"{oauth_instance.url}/oauth_token.do",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": token["refresh_token"],
        },
    ).json()
    assert (
        requests.get(url, headers={"Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 200
    )


def test_a_long_lived_token_and_an_unknown_one(oauth_instance: Any) -> None:
    url = oauth_instance.api("/table/change_request")
    oauth_instance.clock.advance(10**7)
    assert requests.get(url, headers={"Authorization": f"Bearer {STATIC_TOKEN}"}).status_code == 200
    assert requests.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
