"""Database fixtures: each test that asks for one runs on SQLite and on PostgreSQL, in a database of its own.

Use from any test folder, either suite-wide with `pytest_plugins = ["tests.store_fixtures"]` in
tests/conftest.py, or in a folder's conftest.py with `from tests.store_fixtures import *`.

- `database_url`: a fresh database at the newest schema (PostgreSQL: copied from a migrated template,
  which is fast; SQLite: a copy of a migrated file under tmp_path).
- `empty_database_url`: a fresh database with no tables, for migration tests.
- `store`: a Store on `database_url`, closed after the test.

PostgreSQL is found at BRIDGE_TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432/test, trust auth).
When it is unreachable the PostgreSQL variants skip, unless BRIDGE_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from bridge.store import Store, upgrade
from bridge.store.engine import make_engine
from bridge.store.migrate import MIGRATIONS

__all__ = [
    "database_url",
    "empty_database_url",
    "fresh_stores",
    "postgres_admin_url",
    "postgres_databases",
    "postgres_template",
    "sqlite_template",
    "store",
    "store_backend",
]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def _libpq(url: str, database: str | None = None) -> str:
    """A libpq connection string for a SQLAlchemy URL (optionally naming another database)."""
    parsed = make_url(url)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlalchemy_url(admin_url: str, database: str) -> str:
    return (
        make_url(admin_url)
        .set(drivername="postgresql+psycopg", database=database)
        .render_as_string(hide_password=False)
    )


def _admin(admin_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=3)


def _schema_digest() -> str:
    """A digest of the migration scripts, so a template is rebuilt whenever they change."""
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of the PostgreSQL server's maintenance database; skips (or fails) when it is down."""
    url = os.environ.get("BRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        with _admin(url) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        detail = " ".join(str(exc).split())
        reason = f"PostgreSQL unreachable at {make_url(url).render_as_string()}: {detail}"
        if os.environ.get("BRIDGE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (BRIDGE_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """The name of a database migrated to the newest schema, to copy per test; kept between runs."""
    name = f"bridge_tpl_{_schema_digest()}"
    with _admin(postgres_admin_url) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return name
        # Build under a private name and rename when complete, so a concurrent run never copies a
        # half-migrated template, and nobody stays connected to the finished one.
        building = f"bridge_build_{uuid.uuid4().hex[:12]}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
        try:
            engine = make_engine(_sqlalchemy_url(postgres_admin_url, building))
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building), sql.Identifier(name)
                )
            )
        except psycopg.errors.DuplicateDatabase:
            pass  # another run finished the same template first
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(building)))
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema, copied per test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store_backend(request: pytest.FixtureRequest) -> str:
    """The backend a test runs on; every test using the database fixtures runs once on each."""
    return str(request.param)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


class PostgresDatabases:
    """Per-test databases copied from templates: made a step ahead and dropped in the background.

    CREATE DATABASE copies the whole template (catalogs included), a few hundred milliseconds of
    server time; done while the previous test runs, a test rarely waits for it.
    """

    def __init__(self, admin_url: str, *, ahead: int = 2) -> None:
        self.admin_url = admin_url
        self._ahead = ahead
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-databases")
        self._ready: dict[str, deque[Future[str]]] = defaultdict(deque)
        self._drops: list[Future[None]] = []

    def drop_orphans(self) -> None:
        """Drop databases left by test runs that were killed (their process is gone)."""
        with _admin(self.admin_url) as admin:
            names = [
                row[0]
                for row in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bridge_t_%'")
            ]
        for name in names:
            match = re.fullmatch(r"bridge_t_(\d+)_[0-9a-f]+", str(name))
            if match and not _alive(int(match.group(1))):
                self.drop(str(name))

    def take(self, template: str, *, ahead: bool = True) -> str:
        """A new database copied from `template`; yours until you give it back with drop()."""
        made = self._ready[template]
        while len(made) < (self._ahead if ahead else 0) + 1:
            made.append(self._workers.submit(self._create, template))
        return made.popleft().result()

    def drop(self, name: str) -> None:
        self._drops.append(self._workers.submit(self._drop, name))

    def close(self) -> None:
        """Drop every database made and wait until they are gone."""
        for made in self._ready.values():
            while made:
                self.drop(made.popleft().result())
        for dropped in self._drops:
            dropped.result()
        self._workers.shutdown()

    def url(self, name: str) -> str:
        return _sqlalchemy_url(self.admin_url, name)

    def _create(self, template: str) -> str:
        # The creator's process id in the name lets a later run drop what a killed one left.
        name = f"bridge_t_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        with _admin(self.admin_url) as admin:
            # The default strategy (WAL_LOG) needs no checkpoint, unlike FILE_COPY, whose checkpoints
            # slow every other client of a busy server.
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def _drop(self, name: str) -> None:
        with _admin(self.admin_url) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_databases(postgres_admin_url: str) -> Iterator[PostgresDatabases]:
    """The session's maker of per-test PostgreSQL databases."""
    databases = PostgresDatabases(postgres_admin_url)
    databases.drop_orphans()
    try:
        yield databases
    finally:
        databases.close()


@contextmanager
def _postgres_database(databases: PostgresDatabases, template: str, *, ahead: bool) -> Iterator[str]:
    name = databases.take(template, ahead=ahead)
    try:
        yield databases.url(name)
    finally:
        databases.drop(name)


@pytest.fixture
def empty_database_url(store_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables."""
    if store_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'bridge.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    with _postgres_database(databases, "template0", ahead=False) as url:
        yield url


@pytest.fixture
def database_url(store_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema."""
    if store_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "bridge.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    with _postgres_database(databases, template_name, ahead=True) as url:
        yield url


@pytest.fixture
def fresh_stores(
    store_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[Store]]:
    """Makes any number of fresh stores on the test's backend, each in a database of its own (for
    property tests, which need one per example)."""
    if store_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
    else:
        template_name: str = request.getfixturevalue("postgres_template")
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")

    @contextmanager
    def fresh() -> Iterator[Store]:
        if store_backend == "sqlite":
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(template, path)
            opened = Store.from_url(f"sqlite:///{path}")
            try:
                yield opened
            finally:
                opened.close()
            return
        with _postgres_database(databases, template_name, ahead=False) as url:
            opened = Store.from_url(url)
            try:
                yield opened
            finally:
                opened.close()

    return fresh


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A Store on a fresh database at the newest schema."""
    opened = Store.from_url(database_url)
    try:
        yield opened
    finally:
        opened.close()
