"""The environment ledger: per environment and component, the version deployed now and every earlier one."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select

from bridge.store.base import Manager
from bridge.store.schema import deployments


@dataclass(frozen=True)
class DeploymentRow:
    """One stay of a version in an environment: current while `deployed_to` is None."""

    id: int
    environment: str
    component: str
    version: str
    rfc_number: str | None
    deployed_from: datetime
    deployed_to: datetime | None
    rolled_back: bool
    approved: bool = True  # under an approved RFC (no defect moves for it otherwise)
    rfc_sys_id: str | None = None

    @property
    def current(self) -> bool:
        return self.deployed_to is None


def _deployment(row: Row[Any]) -> DeploymentRow:
    return DeploymentRow(
        id=row.id,
        environment=row.environment,
        component=row.component,
        version=row.version,
        rfc_number=row.rfc_number,
        deployed_from=row.deployed_from,
        deployed_to=row.deployed_to,
        rolled_back=row.rolled_back,
        approved=row.approved,
        rfc_sys_id=row.rfc_sys_id,
    )


class LedgerManager(Manager):
    """The environment ledger (the deployments table): every stay of a version in an environment."""

    def current(self, environment: str, component: str) -> DeploymentRow | None:
        row = self.connection.execute(
            select(deployments).where(
                deployments.c.environment == environment,
                deployments.c.component == component,
                deployments.c.deployed_to.is_(None),
            )
        ).first()
        return None if row is None else _deployment(row)

    def deployed(self, environment: str | None = None) -> list[DeploymentRow]:
        """What is deployed now: per environment (or in one), per component."""
        query = select(deployments).where(deployments.c.deployed_to.is_(None))
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        query = query.order_by(deployments.c.environment, deployments.c.component)
        return [_deployment(row) for row in self.connection.execute(query)]

    def environments(self, component: str, version: str) -> list[str]:
        """The environments where this version of the component is the current one."""
        query = (
            select(deployments.c.environment)
            .where(
                deployments.c.component == component,
                deployments.c.version == version,
                deployments.c.deployed_to.is_(None),
            )
            .order_by(deployments.c.environment)
        )
        return list(self.connection.execute(query).scalars())

    def history(self, environment: str, component: str) -> list[DeploymentRow]:
        """Every deployment of the component in the environment, newest first."""
        query = (
            select(deployments)
            .where(deployments.c.environment == environment, deployments.c.component == component)
            .order_by(deployments.c.deployed_from.desc(), deployments.c.id.desc())
        )
        return [_deployment(row) for row in self.connection.execute(query)]

    def list(self) -> list[DeploymentRow]:
        """Every stay of every version in every environment, oldest first."""
        query = select(deployments).order_by(deployments.c.deployed_from, deployments.c.id)
        return [_deployment(row) for row in self.connection.execute(query)]

    # builtins.list: in this class, `list` names the method above.
    def of(self, releases: Collection[tuple[str, str]]) -> builtins.list[DeploymentRow]:
        """Every stay of these (component, version) releases in any environment, oldest first."""
        if not releases:
            return []
        components = sorted({component for component, _ in releases})
        query = (
            select(deployments)
            .where(deployments.c.component.in_(components))
            .order_by(deployments.c.deployed_from, deployments.c.id)
        )
        wanted = set(releases)
        return [
            _deployment(row)
            for row in self.connection.execute(query)
            if (row.component, row.version) in wanted
        ]

    def replace_all(self, entries: Iterable[DeploymentEntry]) -> None:
        """Make the ledger exactly these stays: the engine derives the whole ledger from the records."""
        self.connection.execute(delete(deployments))
        self._insert_stays(entries)

    def replace(self, place: tuple[str, str], entries: Iterable[DeploymentEntry]) -> None:
        """Make one (environment, component)'s ledger exactly these stays."""
        environment, component = place
        self.connection.execute(
            delete(deployments).where(
                deployments.c.environment == environment, deployments.c.component == component
            )
        )
        self._insert_stays(entries)

    def _insert_stays(self, entries: Iterable[DeploymentEntry]) -> None:
        rows = [
            {
                "environment": e.environment,
                "component": e.component,
                "version": e.version,
                "rfc_number": e.rfc_number,
                "deployed_from": e.deployed_from,
                "deployed_to": e.deployed_to,
                "rolled_back": e.rolled_back,
                "approved": e.approved,
                "rfc_sys_id": e.rfc_sys_id,
            }
            for e in entries
        ]
        if rows:
            self.connection.execute(deployments.insert(), rows)


@dataclass(frozen=True)
class DeploymentEntry:
    """One stay of a version in an environment, as the engine derived it."""

    environment: str
    component: str
    version: str
    rfc_number: str | None
    deployed_from: datetime
    deployed_to: datetime | None
    rolled_back: bool
    approved: bool = True
    rfc_sys_id: str | None = None
