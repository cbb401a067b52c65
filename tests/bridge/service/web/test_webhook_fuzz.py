"""The webhook endpoints under generated headers and bodies: never a 500, nothing stored from a refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bridge.config import load_settings
from bridge.sandbox.runner import Sandbox, SandboxSecrets
from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store

FIXTURES = Path(__file__).parents[3] / "fixtures"
SAMPLES = {
    "gitlab": [
        "gitlab/release_create.json",
        "gitlab/tag_push_created_annotated.json",
        "gitlab/push_branch.json",
    ],
    "servicenow": ["servicenow/change_event_update.json", "servicenow/change_event_other_table.json"],
    "ado": ["ado/workitem.updated.json", "ado/workitem.created.json"],
}
SYSTEMS = tuple(SAMPLES)
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure here is a bug, never bad luck
)


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@dataclass
class Receiver:
    client: TestClient
    store: Store
    secrets: SandboxSecrets

    def stored(self) -> int:
        with self.store.transaction(readonly=True) as tx:
            stats = tx.inbox.stats()
        return stats.unprocessed + stats.processed


@pytest.fixture
def receiver(tmp_path: Path, store: Store) -> Iterator[Receiver]:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        config = load_settings(box.config_path)
        mappings = load_mappings()
        processor = Processor(store, build_connectors(config, mappings), engine_context(config, mappings))
        with TestClient(create_app(processor, max_webhook_bytes=64 * 1024)) as client:
            yield Receiver(client, store, box.secrets)


# --- what is sent ----------------------------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
header_name = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z")
any_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(header_text, inner, max_size=4),
    max_leaves=12,
)


def _sample(path: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / path).read_text())
    return document


@st.composite
def mutated(draw: st.DrawFn, system: str) -> bytes:
    """A real payload of the system with fields dropped, replaced or added."""
    document = _sample(draw(st.sampled_from(SAMPLES[system])))
    keys = sorted(document)
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        if draw(st.booleans()):
            del document[key]
        else:
            document[key] = draw(json_value)
    document.update(draw(st.dictionaries(header_text, json_value, max_size=2)))
    return json.dumps(document).encode()


def bodies(system: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated(system),
        json_value.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=300),
        st.just(b"{" * 5000),  # deep nesting
        st.just(b" " * (64 * 1024 + 1)),  # over the size limit
    )


def _credentials(system: str, secrets: SandboxSecrets, body: bytes, kind: str, junk: str) -> dict[str, str]:
    """The system's own credential header: right, wrong, or missing."""
    if kind == "missing":
        return {}
    if system == "gitlab":
        return {"X-Gitlab-Token": secrets.gitlab_hook_secret if kind == "right" else junk}
    if system == "servicenow":
        key = secrets.servicenow_event_secret.encode() if kind == "right" else junk.encode()
        return {"X-Bridge-Signature": base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()}
    password = secrets.ado_hook_password if kind == "right" else junk
    return {
        "Authorization": "Basic " + base64.b64encode(f"{secrets.ado_hook_user}:{password}".encode()).decode()
    }


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes, str]:
    system = draw(st.sampled_from(SYSTEMS))
    body = draw(bodies(system))
    kind = draw(st.sampled_from(["right", "right", "wrong", "missing"]))
    headers = draw(st.dictionaries(header_name, header_text, max_size=4))
    headers.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "X-Gitlab-Event": st.sampled_from(["Release Hook", "Tag Push Hook", "Push Hook"])
                    | header_text,
                    "Idempotency-Key": header_text,
                    "X-Bridge-Event": header_text,
                    "Content-Type": st.sampled_from(["application/json", "text/plain"]) | header_text,
                },
            )
        )
    )
    headers.update(_credentials(system, SandboxSecrets(), body, kind, draw(header_text)))
    return system, headers, body, kind


def _with_nul() -> tuple[str, dict[str, str], bytes, str]:
    document = _sample("gitlab/release_create.json")
    document["description"] = "# Note\u0000with a NUL"
    headers = {"X-Gitlab-Event": "Release Hook", "X-Gitlab-Token": SandboxSecrets().gitlab_hook_secret}
    return "gitlab", headers, json.dumps(document).encode(), "right"


@given(delivery=deliveries())
@example(delivery=_with_nul())  # PostgreSQL refuses it (JSONB holds no NUL), SQLite stores it
@FUZZ
def test_generated_deliveries_never_fail_and_refused_ones_store_nothing(
    receiver: Receiver, delivery: tuple[str, dict[str, str], bytes, str]
) -> None:
    system, headers, body, kind = delivery
    before = receiver.stored()
    answer = receiver.client.post(f"/hooks/{system}", content=body, headers=headers)
    after = receiver.stored()
    event(f"{system} {kind} credentials: {answer.status_code}")
    assert answer.status_code in {200, 202, 400, 401, 413, 422}, (answer.status_code, answer.text)
    document = answer.json()
    if answer.status_code == 202:
        assert after == before + 1 and kind == "right" and document["duplicate"] is False
    elif answer.status_code == 200:
        assert after == before and kind == "right" and document["duplicate"] is True
    else:
        assert after == before, "a refused delivery was stored"
        assert isinstance(document["error"], str) and document["error"]
        for secret in (receiver.secrets.gitlab_hook_secret, receiver.secrets.ado_hook_password):
            assert secret not in answer.text


@given(
    system=st.sampled_from(SYSTEMS),
    name=st.from_regex(r"\A[A-Za-z0-9._~-]{0,30}\Z"),
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
)
@settings(FUZZ, max_examples=20)
def test_other_paths_and_methods_are_answered_without_a_server_error(
    receiver: Receiver, system: str, name: str, method: str
) -> None:
    before = receiver.stored()
    answer = receiver.client.request(method, f"/hooks/{system}")
    assert answer.status_code == 405
    answer = receiver.client.post(f"/hooks/{name}x", content=b"{}")
    assert answer.status_code == 404 and "error" in answer.json()
    assert receiver.stored() == before


def test_a_payload_the_store_cannot_hold_is_refused_and_not_stored(
    receiver: Receiver, store_backend: str
) -> None:
    system, headers, body, _ = _with_nul()
    answer = receiver.client.post(f"/hooks/{system}", content=body, headers=headers)
    if store_backend == "postgresql":
        assert answer.status_code == 422 and "NUL" in answer.json()["error"]
        assert receiver.stored() == 0
    else:
        assert answer.status_code == 202 and receiver.stored() == 1


def _hostile(system: str, value: str) -> bytes:
    """A real payload of the system with `value` (JSON text) in one of its fields."""
    text = json.dumps({**_sample(SAMPLES[system][0]), "extra": "@@"})
    return text.replace('"@@"', value).encode()


HOSTILE_VALUES = {
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "objects nested 65 deep": '{"a":' * 65 + "1" + "}" * 65,
    "an integer of 10,000 digits": "9" * 10_000,
    "a negative integer of 5,000 digits": "-" + "1" * 5_000,
    "a float of 1,000 digits": "0." + "3" * 1_000,
    "an exponent of 500 digits": "1e" + "9" * 500,
}


@pytest.mark.parametrize("what", sorted(HOSTILE_VALUES))
@pytest.mark.parametrize("system", SYSTEMS)
def test_a_body_beyond_the_depth_or_number_bounds_is_a_400_and_stored_nowhere(
    tmp_path: Path, store: Store, system: str, what: str
) -> None:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        config = load_settings(box.config_path)
        mappings = load_mappings()
        processor = Processor(store, build_connectors(config, mappings), engine_context(config, mappings))
        client = TestClient(create_app(processor))  # the default size limit: 1 MiB
        body = _hostile(system, HOSTILE_VALUES[what])
        headers = {"X-Gitlab-Event": "Release Hook", **_credentials(system, box.secrets, body, "right", "")}
        answer = client.post(f"/hooks/{system}", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert re.search(
            r"nests deeper than \d+ levels|holds a number of \d+ characters", answer.json()["error"]
        )
        with store.transaction(readonly=True) as tx:
            stats = tx.inbox.stats()
        assert stats.unprocessed + stats.processed == 0
        # Within the bounds, the same payload is stored.
        body = _hostile(system, '[[[{"a": 12345678901234567890, "b": 1.5e10}]]]')
        headers = {"X-Gitlab-Event": "Release Hook", **_credentials(system, box.secrets, body, "right", "")}
        assert client.post(f"/hooks/{system}", content=body, headers=headers).status_code == 202
