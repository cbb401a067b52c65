"""Environments: the version of each component deployed in each now, against the component's newest
release, and every version each has had."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select

from bridge.service.read.common import from_row
from bridge.store.ledger import DeploymentRow
from bridge.store.schema import deployments, releases
from bridge.store.store import Tx
from bridge.versions import VERSION_ORDER_PREFIX


class CurrentDeployment(BaseModel):
    """The version of a component deployed now in an environment, against the component's newest release."""

    component: str
    version: str
    since: datetime
    rfc_number: str | None
    newest_version: str | None = None  # the component's newest release the bridge knows, if any
    behind: bool = False  # the version deployed is not the newest release


class EnvironmentSummary(BaseModel):
    """An environment with the version of each component deployed in it now."""

    name: str
    components: list[CurrentDeployment]


class DeploymentView(BaseModel):
    """One stay of a version in an environment."""

    version: str
    rfc_number: str | None
    deployed_from: datetime
    deployed_to: datetime | None
    rolled_back: bool
    current: bool


class ComponentHistory(BaseModel):
    """Every version of a component an environment has had, newest first."""

    component: str
    deployments: list[DeploymentView]


class EnvironmentHistory(BaseModel):
    """An environment's history, per component."""

    name: str
    components: list[ComponentHistory]


def deployment_view(row: DeploymentRow) -> DeploymentView:
    return from_row(DeploymentView, row)


def newest_versions(tx: Tx) -> dict[str, str]:
    """Each component's newest release (by version; a tag whose version does not parse is left out)."""
    # version_order sorts versions part by part, and puts every text that is not a version after them
    # all (bridge.versions.version_order): the newest is the largest order that is a version's.
    listed = releases.c.removed.is_(False) & releases.c.version_order.startswith(VERSION_ORDER_PREFIX)
    top = (
        select(releases.c.component, func.max(releases.c.version_order).label("top"))
        .where(listed)
        .group_by(releases.c.component)
        .subquery()
    )
    query = (
        select(releases.c.component, func.min(releases.c.version))
        .join(top, (top.c.component == releases.c.component) & (top.c.top == releases.c.version_order))
        .where(listed)
        .group_by(releases.c.component)
    )
    return {component: version for component, version in tx.connection.execute(query)}


def is_behind(version: str, newest: str | None) -> bool:
    """Whether a deployed version differs from the component's newest release (unknown newest: no)."""
    return newest is not None and version != newest


def list_environments(tx: Tx, known: Sequence[str] = ()) -> list[EnvironmentSummary]:
    """Every environment (the configured ones and any in the ledger) with what is deployed there now,
    each version against its component's newest release."""
    newest = newest_versions(tx)
    current: dict[str, list[CurrentDeployment]] = {name: [] for name in known}
    for row in tx.ledger.deployed():
        current.setdefault(row.environment, []).append(
            CurrentDeployment(
                component=row.component,
                version=row.version,
                since=row.deployed_from,
                rfc_number=row.rfc_number,
                newest_version=newest.get(row.component),
                behind=is_behind(row.version, newest.get(row.component)),
            )
        )
    return [EnvironmentSummary(name=name, components=current[name]) for name in sorted(current)]


def environment_history(
    tx: Tx, name: str, *, component: str | None = None, known: Sequence[str] = ()
) -> EnvironmentHistory | None:
    """An environment's history per component (or of one); None if the environment is unknown."""
    query = select(deployments.c.component).where(deployments.c.environment == name).distinct()
    components = sorted(tx.connection.execute(query).scalars())
    if not components and name not in known:
        return None
    if component is not None:
        components = [c for c in components if c == component]
    return EnvironmentHistory(
        name=name,
        components=[
            ComponentHistory(
                component=c, deployments=[deployment_view(row) for row in tx.ledger.history(name, c)]
            )
            for c in components
        ],
    )
