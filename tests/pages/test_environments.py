"""The environments matrix and the history pages it drills down to, with their JSON twins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from bridge.service.web.pages.environments import against_newest, environment_url
from bridge.store.schema import deployments
from tests.pages.conftest import RFC, Seeded

HELIX = "helix-settlement"


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def cell_of(html: str, href: str) -> str:
    """The table cell that holds the link to `href`."""
    match = re.search(rf'<td[^>]*>\s*<a class="cell[^"]*" href="{re.escape(href)}">.*?</td>', html, re.S)
    assert match, f"no cell links to {href}"
    return match.group(0)


def words(html: str) -> str:
    """The text a reader sees (and hears), tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def behind_in_sit_a(seeded: Seeded) -> Iterator[None]:
    """helix-settlement 1.0.0.0 running in SIT-A: behind its newest release, 1.1.0.0 (removed afterwards)."""
    at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    row = {"environment": "SIT-A", "component": HELIX, "version": "1.0.0.0", "rfc_number": "CHG0009999"}
    with seeded.processor.store.transaction() as tx:
        tx.connection.execute(deployments.insert().values(**row, deployed_from=at, rolled_back=False))
    try:
        yield
    finally:
        with seeded.processor.store.transaction() as tx:
            tx.connection.execute(delete(deployments).where(deployments.c.rfc_number == "CHG0009999"))


def test_the_matrix_shows_each_version_with_its_rfc_and_links_to_its_history(
    seeded: Seeded, client: TestClient
) -> None:
    page = client.get("/environments")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    rfc = seeded.box.seeded.rfcs[RFC]
    cell = cell_of(html, "/environments/SIT-B/helix-settlement")
    assert '<span class="version">1.1.0.0</span>' in cell
    assert f"RFC {rfc}" in cell and "since " in cell
    assert "behind" not in cell, "the newest release is not marked"
    # Every environment is a row, every component released or deployed a column with its newest release.
    for name in ("SIT Staging", "SIT-A", "SIT-B", "UIT"):
        assert f'<th scope="row"><a href="{environment_url(name)}">{name}</a></th>' in html
    assert re.search(r'<th scope="col">dip-platform<span class="sub">newest release: 1\.0\.1\.1</span>', html)
    assert re.search(
        r'<th scope="col">helix-settlement<span class="sub">newest release: 1\.1\.0\.0</span>', html
    )
    assert "<caption>Deployed now, by environment and component</caption>" in html
    # An empty cell says so and still leads to the pair's (empty) history; names are quoted in links.
    empty = cell_of(html, "/environments/SIT%20Staging/helix-settlement")
    assert "not deployed" in empty
    assert '<a href="/environments" aria-current="page">Environments</a>' in html
    # Each link names its cell for a screen reader, not only the version.
    assert "1.1.0.0 of helix-settlement in SIT-B: history" in words(cell)


def test_a_version_behind_the_newest_release_is_marked_in_words(
    client: TestClient, behind_in_sit_a: None
) -> None:
    html = client.get("/environments").text
    cell = cell_of(html, "/environments/SIT-A/helix-settlement")
    assert '<td class="behind">' in cell
    assert "behind: newest is 1.1.0.0" in words(cell)
    assert "behind" not in cell_of(html, "/environments/SIT-B/helix-settlement")

    # The JSON twin says the same.
    summary = {
        e["name"]: {c["component"]: c for c in e["components"]}
        for e in client.get("/api/environments").json()
    }
    assert summary["SIT-A"][HELIX] | {"since": None} == {
        "component": HELIX,
        "version": "1.0.0.0",
        "since": None,
        "rfc_number": "CHG0009999",
        "newest_version": "1.1.0.0",
        "behind": True,
    }
    assert (summary["SIT-B"][HELIX]["newest_version"], summary["SIT-B"][HELIX]["behind"]) == (
        "1.1.0.0",
        False,
    )

    # The history marks the current stay the same way.
    history = client.get("/environments/SIT-A/helix-settlement").text
    assert "behind: newest is 1.1.0.0" in words(history)


def test_the_marker_words() -> None:
    assert against_newest("1.1.0.0", "1.1.0.0") is None
    assert against_newest("1.0.0.0", None) is None, "no release known: nothing to compare with"
    assert against_newest("1.0.0.0", "1.1.0.0") == "behind: newest is 1.1.0.0"
    assert against_newest("2.0.0.0", "1.1.0.0") == "differs: newest release is 1.1.0.0"
    assert against_newest("not-a-version", "1.1.0.0") == "behind: newest is 1.1.0.0"


def test_the_history_of_a_pair_lists_every_version_newest_first(seeded: Seeded, client: TestClient) -> None:
    page = client.get("/environments/SIT-B/helix-settlement")
    assert page.status_code == 200
    html = page.text
    assert "<h1>helix-settlement in SIT-B</h1>" in html
    assert "<caption>History of helix-settlement in SIT-B</caption>" in html
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", html, re.S)
    assert [version for version, _ in rows] == ["1.1.0.0", "1.0.0.0"]
    current, earlier = (words(rest) for _, rest in rows)
    assert seeded.box.seeded.rfcs[RFC] in current and current.endswith("now current")
    assert earlier.endswith("replaced")
    assert '<tr aria-current="true">' in html
    assert "Newest release of helix-settlement: 1.1.0.0" in words(html)
    assert '<a href="/api/environments/SIT-B?component=helix-settlement">' in html

    # An alias names the same environment; the JSON twin holds the same stays.
    alias = client.get("/environments/SIT%20Migration/helix-settlement")
    assert alias.status_code == 200 and "<h1>helix-settlement in SIT-B</h1>" in alias.text
    twin = client.get("/api/environments/SIT-B", params={"component": HELIX}).json()
    assert [d["version"] for d in twin["components"][0]["deployments"]] == ["1.1.0.0", "1.0.0.0"]


def test_an_environments_history_of_every_component_and_the_unknown(client: TestClient) -> None:
    whole = client.get("/environments/SIT-B")
    assert whole.status_code == 200 and "<h1>SIT-B</h1>" in whole.text
    assert '<a href="/environments/SIT-B/helix-settlement">helix-settlement</a>' in whole.text

    never = client.get("/environments/UIT/helix-settlement")
    assert never.status_code == 200
    assert "No version of helix-settlement has been deployed to UIT." in never.text

    unknown = client.get("/environments/Production/helix-settlement")
    assert unknown.status_code == 404
    assert "The bridge knows no environment by that name" in unknown.text
    assert "SIT Staging, SIT-A, SIT-B, UIT" in unknown.text

    hostile = client.get("/environments/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status_code == 404 and "<script>alert" not in hostile.text
