"""Change events: payload and signature field by field, the business rule's own output, and event faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.servicenow.simulator import SIGNATURE_HEADER, ServiceNowSimulator, verify
from connectors.servicenow.simulator.tables import FieldType, change_request_table

SCRIPT = Path(__file__).resolve().parents[3] / "config" / "servicenow" / "bridge_change_event.js"
SYS_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
GROUP = "287ebd7da9fe198100f92cc8d1d2154e"
WRAPPER_KEYS = ["table", "operation", "sys_id", "sys_mod_count", "sys_updated_on", "record"]


def _insert(instance: Any) -> dict[str, Any]:
    reply = requests.post(
        instance.api("/table/change_request"),
        json={
            "sys_id": SYS_ID,
            "short_description": "Deploy dip-platform 1.0.2.0",
            "correlation_id": "gitlab:42:dip-platform/1.0.2.0",
            "assignment_group": GROUP,
            "start_date": "2024-05-02 08:00:00",
            "end_date": "2024-05-02 10:00:00",
            "cab_date": "2024-05-01",
            "u_environment": "SIT-A",
            "work_notes": "Raised from release note dip-platform/1.0.2.0",
        },
        auth=instance.auth,
    )
    assert reply.status_code == 201
    result: dict[str, Any] = reply.json()["result"]
    return result


def _update(instance: Any) -> None:
    instance.clock.advance(90)
    instance.changes().update(
        query={"sys_id": SYS_ID},
        payload={"state": "-3", "approval": "requested", "work_notes": "Sent to CAB"},
    )


def _signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_insert_and_update_events_match_the_documented_payloads(
    evented: Any, receiver: Any, snow_fixture: Any
) -> None:
    _insert(evented)
    _update(evented)
    evented.sim.webhooks.flush()
    inserted, updated = receiver.received
    assert inserted.json() == snow_fixture("change_event_insert.json")
    assert updated.json() == snow_fixture("change_event_update.json")
    for got in (inserted, updated):
        assert list(got.json()) == WRAPPER_KEYS
        record = got.json()["record"]
        assert list(record) == sorted(record), "fields sorted by name"
        assert all(isinstance(v, str) for v in record.values())
        assert record["work_notes"] == record["comments"] == "", "journal fields read back empty"
        assert record["assignment_group"] == GROUP, "references are plain sys_ids"
        assert got.body == json.dumps(got.json(), separators=(",", ":"), ensure_ascii=False).encode()


def test_event_headers_and_signature(evented: Any, receiver: Any) -> None:
    _insert(evented)
    evented.sim.webhooks.flush()
    (got,) = receiver.received
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "ServiceNow/1.0"
    assert got.headers["x-bridge-event"] == "change_request.insert"
    assert got.headers[SIGNATURE_HEADER.lower()] == _signature(evented.secret, got.body)
    assert verify(evented.secret, got.body, got.headers["x-bridge-signature"])
    assert not verify("another-key", got.body, got.headers["x-bridge-signature"])
    tampered = got.body.replace(b'"state":"-5"', b'"state":"3"')
    assert not verify(evented.secret, tampered, got.headers["x-bridge-signature"])


def test_the_wrapper_carries_the_revision_for_deduplication(evented: Any, receiver: Any) -> None:
    _insert(evented)
    _update(evented)
    evented.sim.webhooks.flush()
    inserted, updated = receiver.bodies()
    assert (inserted["operation"], inserted["sys_mod_count"], inserted["sys_updated_on"]) == (
        "insert",
        "0",
        "2024-05-01 10:00:00",
    )
    assert (updated["operation"], updated["sys_mod_count"], updated["sys_updated_on"]) == (
        "update",
        "1",
        "2024-05-01 10:01:30",
    )
    assert updated["sys_mod_count"] == updated["record"]["sys_mod_count"]
    current = evented.sim.get("change_request", SYS_ID)
    assert updated["record"] == current


def test_seeding_sends_the_same_events_as_rest(evented: Any, receiver: Any) -> None:
    created = evented.sim.insert("change_request", {"short_description": "seeded"})
    evented.sim.update("change_request", created["sys_id"], {"state": "-4"})
    evented.sim.update("change_request", created["sys_id"], {"state": "-4"})  # no change: no event
    evented.sim.webhooks.flush()
    assert [(b["operation"], b["sys_mod_count"]) for b in receiver.bodies()] == [
        ("insert", "0"),
        ("update", "1"),
    ]


def test_journal_table_writes_and_deletes_send_no_event(evented: Any, receiver: Any) -> None:
    created = _insert(evented)
    requests.delete(evented.api(f"/table/change_request/{created['sys_id']}"), auth=evented.auth)
    evented.sim.webhooks.flush()
    assert [b["operation"] for b in receiver.bodies()] == ["insert"]


def test_events_are_unsigned_without_a_secret_and_the_target_can_change(instance: Any, receiver: Any) -> None:
    instance.sim.insert("change_request", {})
    instance.sim.set_event_target(receiver.url, None)
    instance.sim.insert("change_request", {})
    instance.sim.set_event_target(receiver.url, "rotated-key")
    instance.sim.insert("change_request", {})
    instance.sim.webhooks.flush()
    unsigned, signed = receiver.received
    assert "x-bridge-signature" not in unsigned.headers
    assert signed.headers["x-bridge-signature"] == _signature("rotated-key", signed.body)


def test_dropped_events_are_never_sent_and_logged(evented: Any, receiver: Any) -> None:
    requests.post(f"{evented.url}/_sim/faults", json={"webhook_fail_rate": 1})
    _insert(evented)
    evented.sim.webhooks.flush()
    assert receiver.received == []
    log = requests.get(f"{evented.url}/_sim/webhooks").json()["deliveries"]
    assert [(d["event"], d["outcome"]) for d in log] == [("change_request.insert", "dropped")]
    assert log[0]["headers"]["X-Bridge-Signature"] == "***"


def test_duplicated_events_are_byte_identical(evented: Any, receiver: Any) -> None:
    requests.post(f"{evented.url}/_sim/faults", json={"webhook_duplicate_rate": 1})
    _insert(evented)
    evented.sim.webhooks.flush()
    first, second = receiver.received
    assert first == second


def test_reordered_events_arrive_after_a_later_one(evented: Any, receiver: Any) -> None:
    requests.post(f"{evented.url}/_sim/faults", json={"webhook_reorder_rate": 1})
    _insert(evented)
    _update(evented)
    requests.post(f"{evented.url}/_sim/webhooks/flush")
    counts = [b["sys_mod_count"] for b in receiver.bodies()]
    assert counts == ["1", "0"]
    newest = max(receiver.bodies(), key=lambda b: int(b["sys_mod_count"]))
    assert newest["record"]["state"] == "-3", "keeping the highest sys_mod_count restores the order"


def test_a_receiver_that_is_down_is_logged_as_failed(clock: Any) -> None:
    sim = ServiceNowSimulator(user="u", password="p", event_url="http://127.0.0.1:9/hooks", clock=clock)
    sim.webhooks.timeout_s = 1
    sim.insert("change_request", {})
    sim.webhooks.flush()
    assert [d["outcome"] for d in sim.webhooks.log()] == ["failed"]
    sim.close()


# --- the business rule itself, run under Node with stand-ins for the Glide APIs ----------------------

_HARNESS = r"""
const crypto = require('crypto');
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
global.gs = {getProperty: (name, fallback) => (name in input.properties ? input.properties[name] : fallback)};
global.GlideRecordUtil = function () {
    this.getFields = () => Object.keys(input.record).reverse();
};
global.GlideStringUtil = {base64Encode: (s) => Buffer.from(s, 'utf8').toString('base64')};
global.GlideCertificateEncryption = function () {
    this.generateMac = (key, algorithm, data) => {
        if (algorithm !== 'HmacSHA256') throw new Error('unexpected algorithm ' + algorithm);
        return crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'utf8').digest('base64');
    };
};
const sent = {headers: {}};
global.sn_ws = {RESTMessageV2: function () {
    this.setEndpoint = (url) => { sent.url = url; };
    this.setHttpMethod = (method) => { sent.method = method; };
    this.setRequestHeader = (name, value) => { sent.headers[name] = value; };
    this.setRequestBody = (body) => { sent.body = body; };
    this.setHttpTimeout = (ms) => { sent.timeout = ms; };
    this.executeAsync = () => { sent.async = true; };
}};
const current = {
    getElement: (name) => ({getED: () => ({getInternalType: () => input.types[name] || 'string'})}),
    // A business rule still sees the note just entered on the journal field; the script must blank it.
    getValue: (name) => (name in input.journal ? input.journal[name]
        : (input.record[name] === '' ? null : input.record[name])),
    getTableName: () => input.table,
    operation: () => input.operation,
};
const previous = null;
eval(fs.readFileSync(input.script, 'utf8'));
process.stdout.write(JSON.stringify(sent));
"""


def _run_rule(record: dict[str, str], operation: str, url: str, secret: str) -> dict[str, Any]:
    table = change_request_table(("u_environment",))
    types = {c.name: c.kind.value for c in table.columns if c.kind is FieldType.JOURNAL}
    given = {
        "script": str(SCRIPT),
        "record": record,
        "types": types,
        "journal": {"work_notes": "note just entered"},
        "table": "change_request",
        "operation": operation,
        "properties": {"x_bridge.change_event.url": url, "x_bridge.change_event.secret": secret},
    }
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "-e", _HARNESS],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    sent: dict[str, Any] = json.loads(done.stdout)
    return sent


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the business rule")
@pytest.mark.slow
def test_the_business_rule_sends_byte_for_byte_what_the_simulator_sends(evented: Any, receiver: Any) -> None:
    requests.post(
        evented.api("/table/change_request"),
        json={
            "sys_id": SYS_ID,
            "short_description": 'Déploiement "Zürich" — 1.0.2.0',
            "description": "line one\nline two\ttab \\ backslash \u0001 control",
            "u_environment": "SIT-A",
            "work_notes": "note just entered",
        },
        auth=evented.auth,
    )
    evented.sim.webhooks.flush()
    (got,) = receiver.received
    record = evented.sim.get("change_request", SYS_ID)
    assert record is not None
    sent = _run_rule(record, "insert", receiver.url, evented.secret)
    assert (sent["url"], sent["method"], sent["async"]) == (receiver.url, "post", True)
    assert sent["body"].encode("utf-8") == got.body
    assert sent["headers"]["X-Bridge-Signature"] == got.headers["x-bridge-signature"]
    assert sent["headers"]["X-Bridge-Event"] == got.headers["x-bridge-event"]
    assert sent["headers"]["Content-Type"] == got.headers["content-type"]


def test_the_install_guide_documents_the_headers_and_keys_sent() -> None:
    guide = (SCRIPT.parent / "README.md").read_text(encoding="utf-8")
    for header in ("Content-Type", "Accept", "User-Agent", "X-Bridge-Event", SIGNATURE_HEADER):
        assert f"`{header}`" in guide, header
    positions = [guide.index(f"| `{key}` |") for key in WRAPPER_KEYS]
    assert positions == sorted(positions), "keys listed in the order they are sent"
    script = SCRIPT.read_text(encoding="utf-8")
    assert "x_bridge.change_event.url" in guide and "x_bridge.change_event.url" in script
    assert "x_bridge.change_event.secret" in guide and "x_bridge.change_event.secret" in script
