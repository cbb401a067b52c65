"""Configuration: TOML file, environment overrides, keyed errors, masked secrets, a documented example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import ConfigError, RetestTrigger, Settings, load_settings, masked

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "bridge.example.toml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("BRIDGE_"):
            monkeypatch.delenv(key)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings()
    assert settings.database.url == "sqlite:///var/bridge.db"
    assert settings.policies.retest_on is RetestTrigger.DEPLOYMENT
    assert settings.policies.eligible_states == ("Fixed", "Resolved")


def test_the_example_file_loads_and_documents_every_key() -> None:
    settings = load_settings(EXAMPLE)
    assert [p.component for p in settings.gitlab.projects] == ["dip-platform", "helix-settlement"]
    text = EXAMPLE.read_text(encoding="utf-8")

    def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
        found = []
        for name, field in model.model_fields.items():
            found.append(prefix + name)
            annotation = field.annotation
            inner = getattr(annotation, "__args__", (annotation,))
            for candidate in inner:
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    found.extend(keys(candidate, f"{prefix}{name}."))
        return found

    undocumented = [k for k in keys(Settings) if k.rsplit(".", 1)[-1] not in text]
    assert undocumented == []


def test_the_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[ado]\nproject = "FromFile"\npat = "file-pat"\n[service]\nport = 9000\n')
    monkeypatch.setenv("BRIDGE_ADO__PAT", "env-pat")
    monkeypatch.setenv("BRIDGE_SERVICE__PORT", "9100")
    settings = load_settings(path)
    assert settings.ado.project == "FromFile"
    assert settings.ado.pat is not None and settings.ado.pat.get_secret_value() == "env-pat"
    assert settings.service.port == 9100


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///bridge.db", "sqlite:///{folder}/bridge.db"),
        ("sqlite:///./var/bridge.db", "sqlite:///{folder}/var/bridge.db"),
        ("sqlite:///../stores/bridge.db", "sqlite:///{folder}/../stores/bridge.db"),
        ("sqlite:///bridge.db?timeout=5", "sqlite:///{folder}/bridge.db?timeout=5"),
        ("sqlite:////srv/bridge/bridge.db", "sqlite:////srv/bridge/bridge.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("postgresql+psycopg://bridge@db.internal/bridge", "postgresql+psycopg://bridge@db.internal/bridge"),
    ],
)
def test_a_relative_path_in_the_file_is_read_from_the_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    path = _write(folder, f'[database]\nurl = "{written}"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for given in (path, Path("..") / "config" / "bridge.toml"):
        url = load_settings(given).database.url
        assert url == expected.format(folder=folder.resolve().as_posix())


def test_a_relative_log_file_is_read_from_the_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "etc"
    folder.mkdir()
    path = _write(folder, 'log_file = "logs/bridge.log"\n')
    assert load_settings(path).log_file == folder.resolve() / "logs" / "bridge.log"
    absolute = _write(folder, 'log_file = "/var/log/bridge.log"\n')
    assert load_settings(absolute).log_file == Path("/var/log/bridge.log")
    assert load_settings(_write(folder, "")).log_file is None


def test_a_relative_metrics_dir_is_read_from_the_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "etc"
    folder.mkdir()
    path = _write(folder, '[service]\nmetrics_dir = "state/metrics"\n')
    assert load_settings(path).service.metrics_dir == folder.resolve() / "state" / "metrics"
    # Beside the default store (sqlite:///var/bridge.db), from the folder the service runs in.
    assert load_settings(_write(folder, "")).service.metrics_dir == Path("var/metrics")


def test_a_relative_path_from_the_environment_stays_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, '[database]\nurl = "sqlite:///file.db"\n')
    monkeypatch.setenv("BRIDGE_DATABASE__URL", "sqlite:///var/env.db")
    assert load_settings(path).database.url == "sqlite:///var/env.db"


def test_bridge_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_CONFIG", str(_write(tmp_path, '[ado]\nproject = "Named"\n')))
    assert load_settings().ado.project == "Named"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[service]\nport = 70000\n", "service.port: Input should be less than or equal to 65535"),
        ("[gitlab]\nurll = 'x'\n", "gitlab.urll: unknown key"),
        ("[[gitlab.projects]]\npath = 'a/b'\n", "gitlab.projects.0.component: Field required"),
        (
            "[[gitlab.projects]]\npath = 'a/b'\ncomponent = 'dip:platform'\n",
            "gitlab.projects.0.component: Value error, the component's name 'dip:platform' holds ':'",
        ),
        (
            "[[gitlab.projects]]\npath = 'a/b'\ncomponent = 'b'\ntag_patterns = ['{component}']\n",
            "gitlab.projects.0.tag_patterns: Value error, tag pattern '{component}' has no {version}",
        ),
        (
            "[policies]\nretest_on = 'never'\n",
            "policies.retest_on: Input should be 'deployment' or 'release_note'",
        ),
        ("[database]\nurl = 'mysql://x'\n", "database.url: Value error, only sqlite:/// and postgresql"),
        (
            "[servicenow]\nuser = 'u'\npassword = 'p'\noauth_token = 't'\n",
            "either oauth_token or user and password",
        ),
        ("[service\nport = 1\n", "not valid TOML"),
        ("[service]\nprotect_pages = true\n", "protect_pages is true but no operator_token is set"),
        (
            "[service]\nprotect_pages = true\noperator_token = '  '\n",
            "protect_pages is true but no operator_token is set",
        ),
        ("[service]\nprotect_metrics = true\n", "protect_metrics is true but no operator_token is set"),
        ("[service]\nprotect_docs = true\n", "protect_docs is true but no operator_token is set"),
        (
            "[service]\ntrusted_proxies = ['10.0.0.0/8', 'proxy.internal']\n",
            "'proxy.internal' is not an IP address or network",
        ),
        ("[service]\nsession_hours = 0\n", "service.session_hours: Input should be greater than 0"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_write(tmp_path, text))
    assert expected in str(error.value)


def test_a_secret_in_a_bad_value_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_write(tmp_path, "[ado]\npat = 12345\n"))
    assert "12345" not in str(error.value)
    assert "ado.pat" in str(error.value)


def test_show_masks_every_secret(tmp_path: Path) -> None:
    secrets = ["glpat-s3cret", "snow-pw-s3cret", "ado-pat-s3cret", "hook-s3cret", "op-s3cret"]
    path = _write(
        tmp_path,
        f"""
[gitlab]
token = "{secrets[0]}"
webhook_secret = "{secrets[3]}"
[servicenow]
user = "bridge"
password = "{secrets[1]}"
[ado]
pat = "{secrets[2]}"
[service]
operator_token = "{secrets[4]}"
""",
    )
    for args in (["config", "show", "-c", str(path)], ["config", "show", "-c", str(path), "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert not [s for s in secrets if s in result.output]
        assert 'token = "***"' in result.output or '"token": "***"' in result.output
    data = json.loads(runner.invoke(app, ["config", "show", "-c", str(path), "--json"]).output)
    assert data["ado"]["pat"] == "***"
    assert data["servicenow"]["user"] == "bridge"
    assert masked(load_settings(path))["gitlab"]["webhook_secret"] == "***"


def test_show_gives_paths_as_text(tmp_path: Path) -> None:
    path = _write(tmp_path, 'log_file = "bridge.log"\n')
    data = json.loads(runner.invoke(app, ["config", "show", "-c", str(path), "--json"]).output)
    assert data["log_file"] == str(tmp_path / "bridge.log")
    shown = runner.invoke(app, ["config", "show", "-c", str(path)])
    assert shown.exit_code == 0 and f'log_file = "{tmp_path / "bridge.log"}"' in shown.output


def test_show_exits_2_on_a_bad_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "show", "-c", str(_write(tmp_path, "[service]\nport = 'x'\n"))])
    assert result.exit_code == 2
    assert "service.port" in result.output
    result = runner.invoke(app, ["config", "show", "-c", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "cannot be read" in result.output
