"""The bridge's configuration: a TOML file plus `BRIDGE_*` environment variables, built once and passed in.

Precedence, highest first: environment variables (nested with `__`, e.g. `BRIDGE_ADO__PAT`), the TOML
file (`--config` or `BRIDGE_CONFIG`), the defaults below. Secrets are `SecretStr` and never shown.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bridge.domain.keys import key_name
from bridge.versions import DEFAULT_TAG_PATTERNS, TagPattern, TagPatternError

ENV_PREFIX = "BRIDGE_"
MASK = "***"
# Shorter values would mask ordinary words; no real token or password is this short.
MIN_SECRET_LENGTH = 4
# The password in a URL's user info (scheme://user:password@host): a database URL, or any other.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*):(?P<password>[^@\s]*)@", re.IGNORECASE)
CONFIG_ENV = "BRIDGE_CONFIG"
DEFAULT_DATABASE_URL = "sqlite:///var/bridge.db"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and what is wrong."""


class Section(BaseModel):
    """A configuration section: unknown keys are refused, so that a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GitLabProject(Section):
    """One GitLab project whose tags are releases of one component."""

    path: str = Field(description="Project path with namespace, e.g. mhhs/dip-platform, or its numeric id.")
    component: str = Field(description="The component's name in the programme, e.g. dip-platform.")
    tag_patterns: tuple[str, ...] = Field(
        default=DEFAULT_TAG_PATTERNS,
        description="Tag name patterns with {version} and optionally {component}; first match wins.",
    )

    @field_validator("component")
    @classmethod
    def _component_is_a_key_name(cls, value: str) -> str:
        # The component is a part of every key of its releases and deployments (bridge.domain.keys).
        return key_name(value, "the component's name")

    @field_validator("tag_patterns")
    @classmethod
    def _patterns_are_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one tag pattern is needed")
        for pattern in value:
            try:
                TagPattern(pattern)
            except TagPatternError as exc:
                raise ValueError(str(exc)) from exc
        return value


class GitLabSettings(Section):
    url: AnyHttpUrl | None = Field(
        default=None, description="GitLab base URL, e.g. https://gitlab.example.com"
    )
    token: SecretStr | None = Field(default=None, description="Personal, project or group access token.")
    webhook_secret: SecretStr | None = Field(
        default=None, description="The secret token set on the project hooks (sent as X-Gitlab-Token)."
    )
    projects: tuple[GitLabProject, ...] = ()
    poll_interval_s: float = Field(default=300, gt=0)


class ServiceNowSettings(Section):
    url: AnyHttpUrl | None = Field(
        default=None, description="Instance URL, e.g. https://acme.service-now.com"
    )
    user: str | None = None
    password: SecretStr | None = None
    oauth_token: SecretStr | None = Field(default=None, description="Bearer token, instead of user/password.")
    table: str = "change_request"
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key shared with the business rule in config/servicenow/."
    )
    fields: dict[str, str] = Field(
        default_factory=lambda: {"environment": "u_environment", "release": "u_release"},
        description="Instance fields the rules read, by role: environment, release, approval group...",
    )
    poll_interval_s: float = Field(default=120, gt=0)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> ServiceNowSettings:
        if self.oauth_token is not None and (self.user or self.password is not None):
            raise ValueError("give either oauth_token or user and password, not both")
        return self


class AdoSettings(Section):
    organization_url: AnyHttpUrl | None = Field(
        default=None, description="Organisation URL, e.g. https://dev.azure.com/mhhs"
    )
    project: str | None = None
    pat: SecretStr | None = Field(
        default=None, description="Personal access token (Work Items: read & write)."
    )
    work_item_type: str = "Defect"
    webhook_user: str | None = Field(default=None, description="Basic-auth user the service hook sends.")
    webhook_password: SecretStr | None = None
    webhook_header: str | None = Field(
        default=None, description="Name of a custom header the service hook sends with webhook_password."
    )
    poll_interval_s: float = Field(default=120, gt=0)
    parallel_requests: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Batch reads and `$batch` writes of 200 defects the bridge sends at once.",
    )


class DatabaseSettings(Section):
    url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///var/bridge.db or postgresql+psycopg://user@host/db",
    )
    migrate_on_start: bool = Field(
        default=True, description="Bring the schema up to date when the bridge starts (safe with replicas)."
    )
    snapshot_every: int = Field(
        default=10_000,
        gt=0,
        description=(
            "Keep a snapshot of the engine's state every so many journal rows; a start replays at most"
            " that many."
        ),
    )
    journal_retention_days: int | None = Field(
        default=None,
        gt=0,
        description=(
            "Compact the journal: revisions older than this that a snapshot holds are deleted (RFC revisions,"
            " which release timelines show, are kept). None keeps everything."
        ),
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value


class ServiceSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: AnyHttpUrl | None = Field(
        default=None, description="Where people reach the bridge; used in links written to ADO."
    )
    operator_token: SecretStr | None = Field(
        default=None, description="Token for write actions in the pages and API (retrying dead actions)."
    )
    protect_pages: bool = Field(
        default=False,
        description="Ask for the operator token on the pages and the read API too, not only for writes.",
    )
    protect_docs: bool = Field(
        default=False, description="Ask for the operator token on /docs, /redoc and /openapi.json too."
    )
    protect_metrics: bool = Field(
        default=False, description="Ask for the operator token (as a bearer token) on /metrics too."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Signs the sign-in cookie together with the operator token; change it to sign everyone out."
            " The same on every replica."
        ),
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long a sign-in lasts before the token is asked again."
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description=(
            "Addresses or networks (CIDR) whose X-Forwarded-For and X-Forwarded-Proto are believed: the"
            " reverse proxy or load balancer in front of the bridge. '*' trusts every sender."
        ),
    )
    max_webhook_bytes: int = Field(default=1024 * 1024, gt=0)
    action_lease_s: float = Field(
        default=30,
        gt=0,
        description=(
            "How long a claimed action is held before another dispatcher may take it over; the holder"
            " renews it every third of the lease while the action runs."
        ),
    )
    worker_process: bool = Field(
        default=True,
        description=(
            "Run the pollers, inbox processing and dispatch in a process of their own beside the one that"
            " answers webhooks and serves the API (false: on threads of that one process)."
        ),
    )
    pages_process: bool = Field(
        default=True,
        description=(
            "Draw the pages and answer the read API in a process of their own, to which the HTTP process"
            " passes every request that is not a webhook or a probe, so that people reading pages never"
            " slow the answers to webhooks (false: in the HTTP process)."
        ),
    )
    metrics_dir: Path = Field(
        default=Path("var/metrics"),
        description=(
            "Where the processes keep their Prometheus figures for /metrics: a fresh directory in it"
            " for each run of `bridge run`, removed when the run stops."
        ),
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            if item.strip() == "*":
                continue
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8), nor '*'"
                ) from None
        return [item.strip() for item in value]

    @model_validator(mode="after")
    def _protected_pages_need_a_token(self) -> ServiceSettings:
        token = self.operator_token.get_secret_value() if self.operator_token else ""
        for key in ("protect_pages", "protect_docs", "protect_metrics"):
            if getattr(self, key) and not token.strip():
                raise ValueError(f"{key} is true but no operator_token is set: nobody could read them")
        return self


class RetestTrigger(StrEnum):
    """When the fixed defects of a release move to Ready for Retest."""

    DEPLOYMENT = "deployment"  # when an RFC linked to the release reaches a deployed state
    RELEASE_NOTE = "release_note"  # as soon as the release note is published


class PolicySettings(Section):
    retest_on: RetestTrigger = RetestTrigger.DEPLOYMENT
    eligible_states: tuple[str, ...] = ("Fixed", "Resolved")
    ready_for_retest_state: str = "Ready for Retest"
    # Defects in these states are past retest: a release listing them as fixed leaves them be, silently.
    retested_states: tuple[str, ...] = ("In Retest", "Closed")
    create_rfc_drafts: bool = False
    rfc_draft_after_hours: float = Field(default=24, gt=0)


class RetrySettings(Section):
    total_s: float = Field(default=120, gt=0, description="Longest a write is retried within one attempt.")
    max_backoff_s: float = Field(default=30, gt=0)


class Settings(BaseSettings):
    """The whole configuration of one bridge."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database: DatabaseSettings = DatabaseSettings()
    service: ServiceSettings = ServiceSettings()
    gitlab: GitLabSettings = GitLabSettings()
    servicenow: ServiceNowSettings = ServiceNowSettings()
    ado: AdoSettings = AdoSettings()
    policies: PolicySettings = PolicySettings()
    retry: RetrySettings = RetrySettings()
    log_format: Literal["json", "text"] = "json"
    log_file: Path | None = Field(
        default=None,
        description="Write the log here instead of standard error (warnings and errors go there too).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init values; the environment must win over it.
        return (env_settings, init_settings)


def load_settings(path: Path | str | None = None) -> Settings:
    """Build the settings from a TOML file (`path`, else `BRIDGE_CONFIG`) and the environment.

    Raises ConfigError naming the file, the key and the problem.
    """
    chosen = path or os.environ.get(CONFIG_ENV) or None
    data: dict[str, Any] = {}
    source = "defaults and the environment"
    if chosen:
        file = Path(chosen)
        source = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
        data = _paths_from(file.resolve().parent, data)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc


def _paths_from(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The file's data with its relative paths (a SQLite file, the log, the metrics directory) made
    absolute against its folder, so that a configuration means the same store from whichever folder it
    is used."""
    resolved = dict(data)
    if isinstance(data.get("log_file"), str):
        resolved["log_file"] = str(folder / data["log_file"])
    service = data.get("service")
    if isinstance(service, dict) and isinstance(service.get("metrics_dir"), str):
        resolved["service"] = {**service, "metrics_dir": str(folder / service["metrics_dir"])}
    database = data.get("database")
    if isinstance(database, dict) and isinstance(database.get("url"), str):
        resolved["database"] = {**database, "url": _sqlite_url_from(folder, database["url"])}
    return resolved


def _sqlite_url_from(folder: Path, url: str) -> str:
    """`url` with a relative SQLite file made absolute against `folder`; any other URL as given."""
    scheme, sep, rest = url.partition(":///")
    if not sep or not scheme.startswith("sqlite"):
        return url
    path, query_sep, query = rest.partition("?")
    if not path or path == ":memory:" or path.startswith(("/", "file:")) or Path(path).is_absolute():
        return url
    return f"{scheme}:///{(folder / path).as_posix()}{query_sep}{query}"


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"configuration from {source} is not valid:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top)"
        message = "unknown key (check its spelling)" if error["type"] == "extra_forbidden" else error["msg"]
        value = error.get("input")
        shown = "" if _looks_secret(key) or isinstance(value, dict | list) else f" (got {value!r})"
        shown = masked_urls(shown)
        lines.append(f"  {key}: {message}{shown}")
    return "\n".join(lines)


def masked_urls(text: str) -> str:
    """The text with the password of every URL in it replaced by `***`."""
    return mask_secrets(text, ())


def secret_values(settings: BaseModel) -> list[str]:
    """Every secret in the settings (SecretStr values and passwords inside URLs, as written and decoded),
    longest first, so a secret containing another is masked whole."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str | AnyHttpUrl):
            for match in URL_PASSWORD.finditer(str(value)):
                found.extend((match.group("password"), unquote(match.group("password"))))
            password = urlsplit(str(value)).password if "://" in str(value) else None
            if password:
                found.extend((password, unquote(password)))

    walk(settings)
    return sorted({v for v in found if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def mask_secrets(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """The text with each of the secrets, and every URL's password, replaced by a mask."""
    for secret in secrets:
        text = text.replace(secret, mask)
    return URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{mask}@", text)


def _looks_secret(key: str) -> bool:
    return any(word in key for word in ("token", "password", "pat", "secret"))


def masked(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, every secret replaced by `***` (or left empty), and so
    is the password of every URL (database.url, or a system's URL with user info)."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return MASK if value.get_secret_value() else ""
        if isinstance(value, BaseModel):
            return {name: walk(getattr(value, name)) for name in type(value).model_fields}
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, tuple | list):
            return [walk(v) for v in value]
        if isinstance(value, StrEnum):
            return value.value
        if isinstance(value, Path):  # log_file, service.metrics_dir
            return str(value)
        if isinstance(value, AnyHttpUrl | str):
            return masked_urls(str(value))
        return value

    result = walk(settings)
    assert isinstance(result, dict)
    return result


def to_toml(data: dict[str, Any]) -> str:
    """A readable TOML rendering of plain data; keys without a value are shown commented out."""
    lines: list[str] = []
    _emit_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _emit_table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in scalars.items():
        lines.append(f"# {key} = (not set)" if value is None else f"{key} = {_toml_value(value)}")
    for key, value in table.items():
        if _is_table(value):
            lines.extend(["", f"[{'.'.join([*path, key])}]"])
            _emit_table(value, [*path, key], lines)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{'.'.join([*path, key])}]]"])
                _emit_table(item, [*path, key], lines)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))
