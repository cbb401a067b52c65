"""Doctor: each configured system reached with its credentials, the mappings checked against it, the store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

import gitlab
import requests
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bridge.config import GitLabSettings, PolicySettings, RetrySettings, Settings, mask_secrets, secret_values
from bridge.connector import Connector
from bridge.domain.events import Source
from bridge.errors import BridgeError
from bridge.service.runtime.systems import TITLES, differences
from bridge.service.runtime.wiring import build_connectors, load_mappings
from bridge.store import Store

# A checklist answers in seconds: a system that does not answer is reported, not retried for minutes.
DOCTOR_RETRY = RetrySettings(total_s=2, max_backoff_s=0.5)
DOCTOR_TIMEOUT_S = 10.0


class CheckStatus(StrEnum):
    """How one check ended."""

    OK = "ok"  # as the bridge needs it
    WARNING = "warning"  # works, but something is missing or cannot be confirmed
    FAILED = "failed"  # the bridge cannot work like this
    SKIPPED = "skipped"  # the system is not configured


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    system: str
    name: str
    status: CheckStatus
    detail: str


def diagnose(settings: Settings) -> list[Check]:
    """Every check, in checklist order; none raises, and no secret appears in a detail."""
    quiet = settings.model_copy(update={"retry": DOCTOR_RETRY})
    redact = _redactor(settings)
    checks = [*_guarded("database", "reachable and migrated", lambda: _database(settings), redact)]
    mappings = None
    try:
        mappings = load_mappings()
        checks.append(Check("mappings", "valid", CheckStatus.OK, "state, field and environment mappings"))
    except Exception as exc:  # a bad mapping is exactly what the checklist is for
        checks.append(Check("mappings", "valid", CheckStatus.FAILED, redact(_describe(exc))))
    checks.extend(_guarded("gitlab", "projects", lambda: _gitlab(settings.gitlab), redact))
    if mappings is None:
        return checks
    connectors = build_connectors(quiet, mappings)
    servicenow = connectors.get(Source.SERVICENOW)
    if servicenow is None:
        checks.append(Check("servicenow", "fields", CheckStatus.SKIPPED, "servicenow.url is not set"))
    else:
        checks.extend(_guarded("servicenow", "fields", lambda: _servicenow(servicenow), redact))
    ado = connectors.get(Source.ADO)
    if ado is None:
        checks.append(Check("ado", "process", CheckStatus.SKIPPED, "ado.organization_url is not set"))
    else:
        checks.extend(_guarded("ado", "process", lambda: _ado(ado, settings.policies), redact))
    return checks


def failed(checks: Iterable[Check]) -> bool:
    """Whether any check failed (the command's exit status)."""
    return any(check.status is CheckStatus.FAILED for check in checks)


def _guarded(
    system: str, name: str, run: Callable[[], list[Check]], redact: Callable[[str], str]
) -> list[Check]:
    try:
        # A detail may quote a configured address, and an address may carry a password.
        return [replace(check, detail=redact(check.detail)) for check in run()]
    except Exception as exc:  # whatever breaks is one failed line; the other checks still run
        return [Check(system, name, CheckStatus.FAILED, redact(_describe(exc)))]


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, BridgeError) else f"{type(exc).__name__}: {text}"


def _redactor(settings: Settings) -> Callable[[str], str]:
    secrets = secret_values(settings)
    return lambda text: mask_secrets(text, secrets)


def _database(settings: Settings) -> list[Check]:
    where = make_url(settings.database.url).render_as_string(hide_password=True)
    store = Store.from_settings(settings.database)
    try:
        try:
            revision = store.current_revision()
            current = store.is_up_to_date()
            systems = systems_check(store, settings) if current else None
        except SQLAlchemyError as exc:
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
            return [Check("database", "reachable", CheckStatus.FAILED, f"{where}: {reason}")]
    finally:
        store.close()
    reached = Check("database", "reachable", CheckStatus.OK, where)
    if current and systems is not None:
        return [reached, Check("database", "migrated", CheckStatus.OK, f"schema at {revision}"), systems]
    detail = f"schema at {revision or 'nothing'}, not the newest: run `bridge db upgrade`"
    return [reached, Check("database", "migrated", CheckStatus.FAILED, detail)]


def systems_check(store: Store, settings: Settings) -> Check:
    """Whether the store was filled from the systems the configuration names (read only)."""
    found = differences(store, settings)
    if found:
        detail = "; ".join(d.describe() for d in found) + " (see `bridge db repoint`)"
        return Check("database", "systems", CheckStatus.FAILED, detail)
    with store.transaction(readonly=True) as tx:
        recorded = tx.systems.by_source()
    if not recorded:
        return Check("database", "systems", CheckStatus.OK, "none recorded yet: the first run records them")
    names = ", ".join(TITLES[source] for source in recorded)
    return Check("database", "systems", CheckStatus.OK, f"filled from the configured {names}")


def _gitlab(settings: GitLabSettings) -> list[Check]:
    if settings.url is None:
        return [Check("gitlab", "reachable", CheckStatus.SKIPPED, "gitlab.url is not set")]
    url = str(settings.url).rstrip("/")
    token = settings.token.get_secret_value() if settings.token else None
    client = gitlab.Gitlab(url, private_token=token, timeout=DOCTOR_TIMEOUT_S, retry_transient_errors=False)
    try:
        client.auth()
    except (gitlab.GitlabError, requests.RequestException) as exc:
        return [Check("gitlab", "credentials", CheckStatus.FAILED, f"{url}: {_gitlab_error(exc)}")]
    user = client.user.username if client.user is not None else "token accepted"
    checks = [Check("gitlab", "credentials", CheckStatus.OK, f"{url} as {user}")]
    if not settings.projects:
        checks.append(Check("gitlab", "projects", CheckStatus.WARNING, "no project is configured"))
    for project in settings.projects:
        try:
            found = client.projects.get(project.path)
            detail = f"{found.path_with_namespace} (component {project.component})"
            checks.append(Check("gitlab", f"project {project.path}", CheckStatus.OK, detail))
        except (gitlab.GitlabError, requests.RequestException) as exc:
            checks.append(Check("gitlab", f"project {project.path}", CheckStatus.FAILED, _gitlab_error(exc)))
    return checks


def _gitlab_error(exc: Exception) -> str:
    if isinstance(exc, gitlab.GitlabError) and exc.response_code is not None:
        reason = {401: "token refused", 403: "access denied", 404: "not found"}.get(exc.response_code, "")
        return f"HTTP {exc.response_code} {reason}".strip()
    return type(exc).__name__


def _servicenow(connector: Connector) -> list[Check]:
    from connectors.servicenow.connector import ServiceNowConnector

    if not isinstance(connector, ServiceNowConnector):
        return [Check("servicenow", "fields", CheckStatus.SKIPPED, "no field check for this connector")]
    check = connector.check_fields()
    if check.missing and check.sampled:
        status = CheckStatus.FAILED
    elif not check.sampled:
        status = CheckStatus.WARNING
    else:
        status = CheckStatus.OK
    return [
        Check("servicenow", "credentials", CheckStatus.OK, f"{check.table} readable"),
        Check("servicenow", "fields", status, check.describe()),
        Check("servicenow", "references", CheckStatus.OK, check.describe_references()),
    ]


def _ado(connector: Connector, policy: PolicySettings) -> list[Check]:
    from connectors.ado.connector import AdoConnector

    if not isinstance(connector, AdoConnector):
        return [Check("ado", "process", CheckStatus.SKIPPED, "no process check for this connector")]
    check = connector.check_process()
    if not check.exists:
        return [Check("ado", "work item type", CheckStatus.FAILED, check.message)]
    checks = [
        Check("ado", "credentials", CheckStatus.OK, "project readable"),
        Check("ado", "work item type", CheckStatus.OK, f"{check.work_item_type} exists"),
    ]
    missing = {state.lower() for state in check.missing_states}
    target = policy.ready_for_retest_state
    if target.lower() in missing:
        checks.append(Check("ado", f"state {target}", CheckStatus.FAILED, check.message))
    else:
        checks.append(Check("ado", f"state {target}", CheckStatus.OK, "the state defects move to"))
    present = [s for s in policy.eligible_states if s.lower() not in missing]
    absent = [s for s in policy.eligible_states if s.lower() in missing]
    if not present:
        detail = f"none of the eligible states ({', '.join(policy.eligible_states)}) exists"
        checks.append(Check("ado", "eligible states", CheckStatus.FAILED, detail))
    elif absent:
        detail = f"{', '.join(present)} present; {', '.join(absent)} missing (never matched)"
        checks.append(Check("ado", "eligible states", CheckStatus.WARNING, detail))
    else:
        checks.append(Check("ado", "eligible states", CheckStatus.OK, ", ".join(present)))
    return checks
