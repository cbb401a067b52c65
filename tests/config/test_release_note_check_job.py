"""The shipped GitLab CI job and release-note template: the job uses only GitLab's documented keywords
and runs commands the CLI takes, and the template passes the check with no findings."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bridge.cli import app
from bridge.release_notes import parse_release_note

CONFIG = Path(__file__).resolve().parents[2] / "config"
JOB_FILE = CONFIG / "gitlab" / "release-note-check.gitlab-ci.yml"
TEMPLATE = CONFIG / "release-note-template.md"

# GitLab's documented keywords (docs.gitlab.com/ci/yaml/, "CI/CD YAML syntax reference").
GLOBAL_KEYWORDS = {"default", "include", "stages", "variables", "workflow"}
JOB_KEYWORDS = {
    "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
    "dast_configuration", "dependencies", "environment", "except", "extends", "hooks", "identity",
    "id_tokens", "image", "inherit", "interruptible", "manual_confirmation", "needs", "only", "pages",
    "parallel", "release", "resource_group", "retry", "rules", "run", "script", "secrets", "services",
    "stage", "start_in", "tags", "timeout", "trigger", "variables", "when",
}  # fmt: skip
IMAGE_KEYWORDS = {"name", "entrypoint", "docker", "pull_policy", "kubernetes"}
RULES_KEYWORDS = {"if", "changes", "exists", "allow_failure", "needs", "variables", "interruptible", "when"}
CHANGES_KEYWORDS = {"paths", "compare_to"}
ALLOW_FAILURE_KEYWORDS = {"exit_codes"}
ARTIFACTS_KEYWORDS = {"paths", "exclude", "expire_in", "expose_as", "name", "public", "access", "reports"}
ARTIFACTS_KEYWORDS |= {"untracked", "when"}
ARTIFACT_WHEN = {"on_success", "on_failure", "always"}
REPORTS_KEYWORDS = {
    "accessibility", "annotations", "api_fuzzing", "browser_performance", "coverage_fuzzing",
    "codequality", "container_scanning", "cyclonedx", "dast", "dependency_scanning", "dotenv", "junit",
    "load_performance", "metrics", "requirements", "repository_xray", "sast", "secret_detection",
    "terraform",
}  # fmt: skip


def _job_file() -> dict[str, Any]:
    data = yaml.safe_load(JOB_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _job() -> dict[str, Any]:
    job = _job_file()["release-note-check"]
    assert isinstance(job, dict)
    return job


def test_the_job_file_uses_only_documented_global_keywords_and_one_job() -> None:
    data = _job_file()
    jobs = set(data) - GLOBAL_KEYWORDS
    assert jobs == {"release-note-check"}
    assert set(data["variables"]) == {"RELEASE_NOTE", "RELEASE_BRIDGE_IMAGE"}


def test_the_job_uses_only_documented_keywords_at_every_level() -> None:
    job = _job()
    assert set(job) <= JOB_KEYWORDS
    assert isinstance(job["image"], dict) and set(job["image"]) <= IMAGE_KEYWORDS
    assert job["image"]["entrypoint"] == [""]
    for rule in job["rules"]:
        assert set(rule) <= RULES_KEYWORDS
        assert set(rule.get("changes", {})) <= CHANGES_KEYWORDS
    assert set(job["allow_failure"]) <= ALLOW_FAILURE_KEYWORDS
    assert set(job["artifacts"]) <= ARTIFACTS_KEYWORDS
    assert job["artifacts"]["when"] in ARTIFACT_WHEN
    assert set(job["artifacts"]["reports"]) <= REPORTS_KEYWORDS
    assert all(isinstance(line, str) for line in job["script"])


def test_the_job_runs_on_merge_requests_that_change_the_note_and_reports_code_quality() -> None:
    job = _job()
    (rule,) = job["rules"]
    assert "merge_request_event" in rule["if"]
    assert rule["changes"]["paths"] == ["$RELEASE_NOTE"]
    assert job["allow_failure"]["exit_codes"] == [1]  # findings warn; an unreadable note (2) fails
    report = job["artifacts"]["reports"]["codequality"]
    assert any(f"--output {report}" in line and "--format codequality" in line for line in job["script"])


@pytest.mark.parametrize(
    "note",
    [TEMPLATE, Path(__file__).resolve().parents[1] / "fixtures" / "release-notes" / "sparse-tag-message.md"],
)
def test_the_job_s_commands_run_as_written(
    note: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    codes = []
    for line in _job()["script"]:
        words = shlex.split(line.replace("$RELEASE_NOTE", str(note)))
        assert words[0] == "bridge"
        result = runner.invoke(app, words[1:])
        codes.append(result.exit_code)
    report = json.loads((tmp_path / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    if note == TEMPLATE:
        assert codes == [0, 0] and report == []
    else:
        assert codes == [0, 1] and report


def test_the_release_note_template_passes_with_no_findings() -> None:
    note = parse_release_note(TEMPLATE.read_text(encoding="utf-8"))
    assert note.findings == ()
    assert note.missing == ()
    assert note.defects_unclassified == ()
    assert [d.id for d in note.defects_fixed] == [48211, 48260]
