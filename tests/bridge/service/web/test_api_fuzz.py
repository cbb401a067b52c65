"""The read API under generated paths and query values: answers 200, 404 or 422, never a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bridge.config import load_settings
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
number = st.integers(min_value=-(2**70), max_value=2**70).map(str)
value = text | number | st.sampled_from(["%", "_", "\\", "release:dip%", "dead", "true", "ado"])
PATHS = [
    "/api/releases/{a}/{b}",
    "/api/rfcs/{a}",
    "/api/defects/{a}",
    "/api/environments/{a}",
]
LISTS = {
    "/api/releases": ["component"],
    "/api/rfcs": ["state"],
    "/api/defects": ["state"],
    "/api/findings": ["subject", "code", "severity", "include_resolved"],
    "/api/outbox": ["status", "target"],
    "/api/outbox/dead": [],
    "/api/audit": ["record", "action_key"],
    "/api/environments/SIT-A": ["component"],
}


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@pytest.fixture
def client(tmp_path: Path, store: Store) -> Iterator[TestClient]:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        config = load_settings(box.config_path)
        mappings = load_mappings()
        processor = Processor(store, build_connectors(config, mappings), engine_context(config, mappings))
        processor.run_once()
        with TestClient(create_app(processor)) as client:
            yield client


FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@given(template=st.sampled_from(PATHS), a=value, b=value)
@example(template="/api/defects/{a}", a=str(2**64), b="")  # beyond PostgreSQL's bigint
@example(template="/api/defects/{a}", a="-1", b="")
@example(template="/api/releases/{a}/{b}", a="dip-platform", b="1.0.0.0%")
@example(template="/api/releases/{a}/{b}", a="dip-platform", b="\x00")  # PostgreSQL text holds no NUL
@FUZZ
def test_items_by_any_key_are_found_or_404(client: TestClient, template: str, a: str, b: str) -> None:
    url = template.format(a=quote(a, safe="") or "x", b=quote(b, safe="") or "x")
    answer = client.get(url)
    assert answer.status_code in {200, 404, 422}, (url, answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/json"


@given(
    path=st.sampled_from(sorted(LISTS)),
    data=st.data(),
    limit=number,
    offset=number,
)
@example(path="/api/outbox/dead", data=st.data(), limit="1", offset=str(2**63))  # beyond a bigint
@FUZZ
def test_lists_under_any_filter_and_paging_answer_200_or_422(
    client: TestClient, path: str, data: st.DataObject, limit: str, offset: str
) -> None:
    params = {name: data.draw(value) for name in LISTS[path]}
    params |= {"limit": limit, "offset": offset}
    answer = client.get(path, params=params)
    assert answer.status_code in {200, 404, 422}, (path, params, answer.status_code, answer.text)
    if answer.status_code == 200 and "items" in answer.json():
        page = answer.json()
        assert len(page["items"]) <= page["limit"] and page["total"] >= 0
