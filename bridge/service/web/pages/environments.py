"""The environments pages: the version of each component in each environment now, and each one's history."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from bridge.service.read.environments import (
    CurrentDeployment,
    DeploymentView,
    EnvironmentHistory,
    EnvironmentSummary,
    environment_history,
    is_behind,
    list_environments,
    newest_versions,
)
from bridge.service.web.backend import ReadModels
from bridge.service.web.pages.layout import page_html
from bridge.versions import Version, VersionError

ENVIRONMENTS_PATH = "/environments"


def environment_url(name: str, component: str | None = None) -> str:
    """The page of an environment's history (of one component, if given)."""
    url = f"{ENVIRONMENTS_PATH}/{quote(name, safe='')}"
    return url if component is None else f"{url}/{quote(component, safe='')}"


def api_url(name: str, component: str | None = None) -> str:
    """The JSON twin of an environment's history page."""
    url = f"/api{ENVIRONMENTS_PATH}/{quote(name, safe='')}"
    return url if component is None else f"{url}?component={quote(component, safe='')}"


def against_newest(version: str, newest: str | None) -> str | None:
    """The words that mark a version that is not its component's newest release, or None."""
    if not is_behind(version, newest):
        return None
    try:
        ahead = Version.parse(version).parts > Version.parse(str(newest)).parts
    except VersionError:
        ahead = False
    return f"differs: newest release is {newest}" if ahead else f"behind: newest is {newest}"


@dataclass(frozen=True)
class Column:
    """A component of the matrix, with its newest release."""

    component: str
    newest: str | None


@dataclass(frozen=True)
class Cell:
    """What one environment runs of one component now (None: nothing), and where its history is."""

    environment: str
    component: str
    deployment: CurrentDeployment | None
    href: str

    @property
    def marker(self) -> str | None:
        d = self.deployment
        return None if d is None else against_newest(d.version, d.newest_version)


@dataclass(frozen=True)
class Row:
    """An environment of the matrix."""

    environment: str
    href: str
    cells: list[Cell]


@dataclass(frozen=True)
class Matrix:
    """Environments by components: the version deployed in each."""

    columns: list[Column]
    rows: list[Row]


def environment_matrix(
    summaries: list[EnvironmentSummary], newest: dict[str, str], order: list[str]
) -> Matrix:
    """The matrix of environments (in the configured order, then others) by components (every component
    released or deployed, by name)."""
    deployed = {d.component for s in summaries for d in s.components}
    columns = [Column(c, newest.get(c)) for c in sorted(deployed | set(newest))]
    rank = {name: index for index, name in enumerate(order)}
    rows = []
    for summary in sorted(summaries, key=lambda s: (rank.get(s.name, len(rank)), s.name)):
        current = {d.component: d for d in summary.components}
        cells = [
            Cell(
                summary.name,
                c.component,
                current.get(c.component),
                environment_url(summary.name, c.component),
            )
            for c in columns
        ]
        rows.append(Row(summary.name, environment_url(summary.name), cells))
    return Matrix(columns, rows)


@dataclass(frozen=True)
class HistoryLine:
    """One stay of a version, with the words for its status."""

    stay: DeploymentView
    marker: str | None  # set on the current version when it is not the newest release

    @property
    def status(self) -> str:
        if self.stay.rolled_back:
            return "rolled back"
        return "current" if self.stay.current else "replaced"

    @property
    def tone(self) -> str:
        return "bad" if self.stay.rolled_back else ("good" if self.stay.current else "")


@dataclass(frozen=True)
class ComponentLines:
    """A component's history in the environment, newest first."""

    component: str
    newest: str | None
    lines: list[HistoryLine]
    href: str


def history_lines(history: EnvironmentHistory, newest: dict[str, str]) -> list[ComponentLines]:
    return [
        ComponentLines(
            c.component,
            newest.get(c.component),
            [
                HistoryLine(d, against_newest(d.version, newest.get(c.component)) if d.current else None)
                for d in c.deployments
            ],
            environment_url(history.name, c.component),
        )
        for c in history.components
    ]


def environments_router(models: ReadModels) -> APIRouter:
    """The environments matrix and the history pages it drills down to."""
    router = APIRouter()
    mapping = models.context.environments
    known = [e.name for e in mapping.environments]

    @router.get(ENVIRONMENTS_PATH, response_class=HTMLResponse)
    def environments() -> HTMLResponse:
        """Environments by components: the version deployed in each, since when, by which RFC."""
        with models.store.transaction(readonly=True) as tx:
            summaries = list_environments(tx, known)
            newest = newest_versions(tx)
        return page_html(
            "environments.html",
            ENVIRONMENTS_PATH,
            matrix=environment_matrix(summaries, newest, known),
            api_url=f"/api{ENVIRONMENTS_PATH}",
        )

    def history_page(name: str, component: str | None) -> HTMLResponse:
        canonical = mapping.canonical(name)
        with models.store.transaction(readonly=True) as tx:
            history = environment_history(tx, canonical, component=component, known=known)
            newest = newest_versions(tx)
        if history is None:
            answer = page_html(
                "environment_history.html",
                ENVIRONMENTS_PATH,
                name=name,
                component=component,
                histories=[],
                unknown=True,
                known=known,
                matrix_url=ENVIRONMENTS_PATH,
                api_url=None,
            )
            answer.status_code = 404
            return answer
        return page_html(
            "environment_history.html",
            ENVIRONMENTS_PATH,
            name=history.name,
            component=component,
            histories=history_lines(history, newest),
            newest=newest.get(component) if component else None,
            unknown=False,
            known=known,
            matrix_url=ENVIRONMENTS_PATH,
            environment_url=environment_url(history.name),
            api_url=api_url(history.name, component),
        )

    @router.get(ENVIRONMENTS_PATH + "/{name}", response_class=HTMLResponse)
    def environment(name: str) -> HTMLResponse:
        """Every version of every component the environment has had, newest first."""
        return history_page(name, None)

    @router.get(ENVIRONMENTS_PATH + "/{name}/{component}", response_class=HTMLResponse)
    def environment_component(name: str, component: str) -> HTMLResponse:
        """Every version of one component the environment has had, newest first."""
        return history_page(name, component)

    return router
