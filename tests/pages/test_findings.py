"""The findings page after a deployment: its filters (a GET form), its pages, and its JSON twin."""

from __future__ import annotations

import html as markup
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from bridge.domain.findings import Finding, FindingSeverity
from bridge.store.schema import findings
from tests.pages.conftest import Seeded

ROW = re.compile(
    r'<tr>\s*<td><span class="status[^"]*">(\w+)</span></td>\s*<td><code>(.*?)</code></td>\s*'
    r"<td><code>(.*?)</code></td>\s*<td>(.*?)</td>",
    re.S,
)
PAGED = 60  # findings of one subject prefix, more than a page of 50


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def paged(seeded: Seeded) -> Iterator[None]:
    """Sixty findings about test:paging subjects, the last one hostile markup; removed afterwards."""
    start = datetime(2024, 2, 1, tzinfo=UTC)
    with seeded.processor.store.transaction() as tx:
        for n in range(PAGED):
            message = "<script>alert(1)</script>" if n == PAGED - 1 else f"paging finding {n}"
            finding = Finding("test.paging", FindingSeverity.INFO, f"test:paging:{n:02}", message)
            tx.findings.record(finding, now=start + timedelta(minutes=n))
    yield
    with seeded.processor.store.transaction() as tx:
        tx.connection.execute(delete(findings).where(findings.c.code == "test.paging"))


def rows(page: str) -> list[tuple[str, str, str, str]]:
    """(severity, code, subject, message) of each finding shown."""
    return [(s, c, markup.unescape(subj), msg) for s, c, subj, msg in ROW.findall(page)]


def test_the_page_lists_the_open_findings_and_its_filters_are_a_labelled_get_form(client: TestClient) -> None:
    page = client.get("/findings")
    assert page.status_code == 200
    text = page.text
    total = client.get("/api/findings").json()["total"]
    assert total > 0 and len(rows(text)) == min(total, 50)
    assert f"Findings 1 to {min(total, 50)} of {total}." in text
    assert '<form class="filters" method="get" action="/findings" role="search"' in text
    for field in ("subject", "code", "severity", "include_resolved"):
        assert f'<label for="{field}"' in text or f'<label class="check" for="{field}"' in text, field
        assert f'id="{field}" name="{field}"' in text, field
    assert '<button type="submit">Show findings</button>' in text
    # The codes the store holds are offered while typing.
    assert '<option value="control_point.4">' in text
    assert '<a href="/findings" aria-current="page">Findings</a>' in text
    assert '<th scope="col">Severity</th>' in text


def test_filters_narrow_the_findings_as_the_json_twin_does(client: TestClient, paged: None) -> None:
    everything = rows(client.get("/findings").text)
    total = client.get("/api/findings").json()["total"]
    dip = client.get("/findings", params={"subject": "release:dip-platform"}).text
    assert rows(dip) and len(rows(dip)) < total
    assert all(subject.startswith("release:dip-platform") for _, _, subject, _ in rows(dip))
    api = client.get("/api/findings", params={"subject": "release:dip-platform"}).json()
    assert [f["subject"] for f in api["items"]] == [subject for _, _, subject, _ in rows(dip)]
    # The form shows the filters it was sent.
    assert 'id="subject" name="subject" value="release:dip-platform"' in dip

    points = client.get("/findings", params={"code": "control_point.4", "severity": "warning"}).text
    assert rows(points) and {(s, c) for s, c, _, _ in rows(points)} == {("warning", "control_point.4")}
    assert '<option value="warning" selected>warning</option>' in points

    # Blank fields, as an empty form sends them, are no filter at all.
    blank = client.get("/findings", params={"subject": "", "code": "", "severity": ""}).text
    assert rows(blank) == everything
    none = client.get("/findings", params={"subject": "rfc:CHG9999999"}).text
    assert rows(none) == [] and "No finding matches." in none


def test_resolved_findings_are_shown_only_when_asked_for(seeded: Seeded, client: TestClient) -> None:
    first = client.get("/api/findings", params={"limit": 500}).json()["items"][-1]
    with seeded.processor.store.transaction() as tx:
        tx.findings.record(
            Finding("test.resolved", FindingSeverity.ERROR, "test:resolved", "resolved since"),
            now=datetime(2024, 2, 1, tzinfo=UTC),
        )
        tx.findings.resolve("test:resolved", now=datetime(2024, 2, 2, tzinfo=UTC))
    try:
        open_only = client.get("/findings", params={"subject": "test:resolved"}).text
        assert rows(open_only) == []
        both = client.get("/findings", params={"subject": "test:resolved", "include_resolved": "true"}).text
        assert [(s, subj) for s, _, subj, _ in rows(both)] == [("error", "test:resolved")]
        assert '<th scope="col">Resolved</th>' in both and "2024-02-02 00:00" in both
        assert 'name="include_resolved" value="true" checked' in both
        assert first["id"]  # the seeded findings are untouched
    finally:
        with seeded.processor.store.transaction() as tx:
            tx.connection.execute(delete(findings).where(findings.c.code == "test.resolved"))


def test_findings_come_a_page_at_a_time_with_the_filters_kept(client: TestClient, paged: None) -> None:
    first = client.get("/findings", params={"subject": "test:paging"}).text
    shown = rows(first)
    assert len(shown) == 50 and "Findings 1 to 50 of 60." in first
    assert shown[0][2] == "test:paging:59", "newest first"
    assert '<a href="/findings?subject=test%3Apaging&amp;offset=50" rel="next">Older findings</a>' in first
    assert 'rel="prev"' not in first

    second = client.get("/findings", params={"subject": "test:paging", "offset": 50}).text
    assert [subject for _, _, subject, _ in rows(second)] == [f"test:paging:{n:02}" for n in range(9, -1, -1)]
    assert "Findings 51 to 60 of 60." in second
    assert '<a href="/findings?subject=test%3Apaging" rel="prev">Newer findings</a>' in second
    assert 'rel="next"' not in second
    assert client.get("/findings", params={"offset": -1}).status_code == 422


def test_a_findings_text_is_escaped(client: TestClient, paged: None) -> None:
    page = client.get("/findings", params={"subject": "test:paging:59"}).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
