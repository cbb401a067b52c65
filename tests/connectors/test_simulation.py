"""The simulators' shared machinery: accounting by route, seeded faults, control endpoints, webhooks."""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.simulation import (
    LOWEST_FREE_PORT,
    Delivery,
    FaultPlan,
    Faults,
    RunningServer,
    SimulatorMiddleware,
    Stats,
    SystemReplies,
    WebhookSender,
    control_routes,
    free_port,
    json_copy,
)


def _app(stats: Stats, plan: FaultPlan) -> Starlette:
    async def item(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    routes = [Route("/items/{id}", item)]
    replies = SystemReplies(
        rate_limited=lambda s: PlainTextResponse("Retry later", 429, headers={"Retry-After": str(s)}),
        server_error=lambda code: JSONResponse({"message": f"{code} boom"}, code),
    )
    return Starlette(
        routes=routes + control_routes(stats, plan),
        middleware=[Middleware(SimulatorMiddleware, routes=routes, stats=stats, plan=plan, replies=replies)],
    )


@pytest.fixture
def server() -> Iterator[tuple[RunningServer, Stats, FaultPlan]]:
    stats, plan = Stats(), FaultPlan()
    with RunningServer(_app(stats, plan)) as running:
        yield running, stats, plan


def test_requests_are_counted_by_route_template_and_controls_are_not(server: Any) -> None:
    running, _, _ = server
    for n in (1, 2, 3):
        assert requests.get(f"{running.url}/items/{n}").json() == {"id": str(n)}
    requests.get(f"{running.url}/nowhere")
    stats = requests.get(f"{running.url}/_sim/stats").json()
    assert stats == {"total": 4, "requests": {"GET /items/{id}": 3, "GET /nowhere": 1}, "peak_in_flight": 1}
    requests.post(f"{running.url}/_sim/stats/reset")
    reset = requests.get(f"{running.url}/_sim/stats").json()
    assert reset == {"total": 0, "requests": {}, "peak_in_flight": 0}


def test_the_most_requests_in_flight_at_once_are_counted(server: Any) -> None:
    running, stats, plan = server
    plan.configure({"latency_ms": 300})
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda n: requests.get(f"{running.url}/items/{n}", timeout=5), range(3)))
    assert stats.snapshot()["peak_in_flight"] == 3
    requests.get(f"{running.url}/items/9", timeout=5)
    stats.reset()
    requests.get(f"{running.url}/items/9", timeout=5)
    assert stats.snapshot()["peak_in_flight"] == 1, "a reset starts the peak again"


def test_faults_are_set_at_run_time_and_fire_with_the_system_reply(server: Any) -> None:
    running, _, _ = server
    reply = requests.post(f"{running.url}/_sim/faults", json={"rate_429": 1, "retry_after_s": 2})
    assert reply.json()["rate_429"] == 1.0
    limited = requests.get(f"{running.url}/items/1")
    assert (limited.status_code, limited.headers["Retry-After"], limited.text) == (429, "2", "Retry later")
    requests.post(f"{running.url}/_sim/faults", json={"rate_429": 0, "rate_503": 1})
    assert requests.get(f"{running.url}/items/1").json() == {"message": "503 boom"}
    requests.post(f"{running.url}/_sim/faults", json={"rate_503": 0, "rate_drop": 1})
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{running.url}/items/1")
    requests.delete(f"{running.url}/_sim/faults")
    assert requests.get(f"{running.url}/items/1").status_code == 200


def test_a_bad_fault_setting_is_refused_with_the_reason(server: Any) -> None:
    running, _, _ = server
    for body in ({"rate_429": 2}, {"nonsense": 1}, {"latency_ms": "slow"}, [1]):
        reply = requests.post(f"{running.url}/_sim/faults", json=body)
        assert reply.status_code == 400
        assert reply.json()["error"]


def test_seeded_faults_repeat_exactly() -> None:
    def outcomes() -> list[str | None]:
        plan = FaultPlan(Faults(rate_429=0.2, rate_500=0.1, rate_drop=0.1, seed=7))
        return [plan.request_fault() for _ in range(200)]

    first = outcomes()
    assert first == outcomes()
    assert {"429", "500", "drop", None} <= set(first)


class _Receiver:
    """A loopback webhook receiver that records what it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

        async def hook(request: Request) -> Response:
            with self.lock:
                self.bodies.append(json.loads(await request.body()))
            return Response(status_code=202)

        self.server = RunningServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    with r.server:
        yield r


def _deliveries(url: str, n: int) -> list[Delivery]:
    return [
        Delivery(url, json.dumps({"n": i}).encode(), {"X-Gitlab-Token": "secret-token"}, "Test Hook")
        for i in range(n)
    ]


def test_webhooks_are_delivered_in_order_without_faults(receiver: _Receiver) -> None:
    sender = WebhookSender(FaultPlan())
    for d in _deliveries(f"{receiver.server.url}/hook", 5):
        sender.send(d)
    sender.flush()
    sender.stop()
    assert [b["n"] for b in receiver.bodies] == [0, 1, 2, 3, 4]
    assert all(r["headers"]["X-Gitlab-Token"] == "***" for r in sender.log())


def test_webhook_faults_drop_duplicate_and_reorder(receiver: _Receiver) -> None:
    plan = FaultPlan(
        Faults(webhook_fail_rate=0.2, webhook_duplicate_rate=0.2, webhook_reorder_rate=0.2, seed=3)
    )
    sender = WebhookSender(plan)
    for d in _deliveries(f"{receiver.server.url}/hook", 60):
        sender.send(d)
    sender.flush()
    sender.stop()
    got = [b["n"] for b in receiver.bodies]
    outcomes = [r["outcome"] for r in sender.log()]
    assert "dropped" in outcomes and "duplicate" in outcomes
    assert len(got) == outcomes.count("sent") + outcomes.count("duplicate")
    assert len(set(got)) == 60 - outcomes.count("dropped")
    assert got != sorted(got), "some delivery should arrive after a later one"


def test_a_receiver_that_is_down_is_recorded_as_failed() -> None:
    sender = WebhookSender(FaultPlan(), timeout_s=1)
    sender.send(_deliveries("http://127.0.0.1:9/hook", 1)[0])
    sender.flush()
    sender.stop()
    assert [r["outcome"] for r in sender.log()] == ["failed"]


def test_a_free_port_is_bindable_and_below_the_ports_outgoing_connections_take() -> None:
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(LOWEST_FREE_PORT <= port < floor for port in ports)
    assert len(ports) > 1  # chosen afresh each time
    port = ports.pop()
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", port))


def test_ports_handed_out_together_are_never_the_same() -> None:
    # A sandbox chooses its three simulators' ports before it binds any: a port handed out once is
    # not handed out again, even from threads at once.
    with ThreadPoolExecutor(max_workers=8) as pool:
        ports = list(pool.map(lambda _: free_port(), range(400)))
    assert len(set(ports)) == len(ports)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def _containers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(c for v in value.values() for c in _containers(v))]
    if isinstance(value, list):
        return [value, *(c for v in value for c in _containers(v))]
    return []


@given(json_values)
def test_json_copy_is_a_deep_copy_sharing_no_container(value: Any) -> None:
    copied = json_copy(value)
    assert copied == copy.deepcopy(value)
    assert not {id(c) for c in _containers(copied)} & {id(c) for c in _containers(value)}


def test_json_copy_deep_copies_what_is_not_json() -> None:
    kept = {"when": {1, 2}}
    assert json_copy(kept) == kept
    assert json_copy(kept)["when"] is not kept["when"]
