"""What the three simulators share: request accounting, fault injection, `/_sim/` controls, webhook
delivery with faults, and serving an ASGI app on loopback.

Each system's simulator (`connectors/<system>/simulator/`) knows its own wire format and hands this
module the few things that differ per system: how a rate-limited or failing reply looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import queue
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sim"


_SCALARS = (str, int, float, bool, type(None))
T = TypeVar("T")


def json_copy(value: T) -> T:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), as the simulators keep their records.

    copy.deepcopy keeps a memo of every object for shared and cyclic references, which JSON data has
    none of; walking the containers is several times faster. Anything else is deep-copied as before.
    """
    return cast(T, _copied(value))


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else _copied(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else _copied(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


# --- faults -------------------------------------------------------------------------------------


@dataclass
class Faults:
    """Faults a simulator injects; rates are probabilities in [0, 1], drawn from a seeded generator."""

    latency_ms: float = 0.0  # added to every API request
    jitter_ms: float = 0.0  # uniform extra latency in [0, jitter_ms]
    rate_429: float = 0.0  # reply 429 with the system's Retry-After and rate-limit headers
    retry_after_s: int = 1  # the Retry-After a 429 carries, in whole seconds
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0  # break the connection instead of replying
    webhook_fail_rate: float = 0.0  # a delivery that is never made (as if the receiver was down)
    webhook_duplicate_rate: float = 0.0  # a delivery sent twice, with the same idempotency headers
    webhook_reorder_rate: float = 0.0  # a delivery held back and sent after the next one
    seed: int = 0

    def update(self, values: Mapping[str, Any]) -> None:
        """Set the named faults; unknown names or values of the wrong kind raise ValueError."""
        known = {f.name: f for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            kind = int if name in {"seed", "retry_after_s"} else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault {name!r} must be a number")
            number = kind(value)
            if name.startswith("rate_") or name.endswith("_rate"):
                if not 0.0 <= number <= 1.0:
                    raise ValueError(f"fault {name!r} is a probability between 0 and 1")
            elif number < 0:
                raise ValueError(f"fault {name!r} cannot be negative")
            setattr(self, name, number)


class FaultPlan:
    """The faults in force and the seeded generator that decides, request by request, which fire."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.random = random.Random(self.faults.seed)
        self.lock = threading.Lock()

    def configure(self, values: Mapping[str, Any]) -> None:
        with self.lock:
            self.faults.update(values)
            if "seed" in values:
                self.random = random.Random(self.faults.seed)

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.random = random.Random(0)

    def draw(self) -> float:
        with self.lock:
            return self.random.random()

    def delay_s(self) -> float:
        f = self.faults
        if not f.latency_ms and not f.jitter_ms:
            return 0.0
        return (f.latency_ms + self.draw() * f.jitter_ms) / 1000.0

    def request_fault(self) -> str | None:
        """One of "429", "500", "503", "drop" or None, by the configured rates."""
        f = self.faults
        point = self.draw() if (f.rate_429 or f.rate_500 or f.rate_503 or f.rate_drop) else 1.0
        for name, rate in (
            ("429", f.rate_429),
            ("500", f.rate_500),
            ("503", f.rate_503),
            ("drop", f.rate_drop),
        ):
            if point < rate:
                return name
            point -= rate
        return None


# --- accounting ---------------------------------------------------------------------------------


class Stats:
    """Requests served, keyed by `METHOD /route/template`, and the most that were in flight at once."""

    def __init__(self) -> None:
        self.counter: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0

    def count(self, key: str) -> None:
        with self.lock:
            self.counter[key] += 1

    def begin(self) -> None:
        """A request starts (before its injected latency): counted in flight until end()."""
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": sum(self.counter.values()),
                "requests": dict(sorted(self.counter.items())),
                "peak_in_flight": self.peak_in_flight,
            }

    def reset(self) -> None:
        with self.lock:
            self.counter.clear()
            self.peak_in_flight = self.in_flight


# --- the middleware -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemReplies:
    """How one system answers when a fault fires; each returns a complete response."""

    rate_limited: Callable[[int], Response]  # given Retry-After seconds
    server_error: Callable[[int], Response]  # given 500 or 503


def route_template(routes: list[BaseRoute], scope: Scope) -> str:
    """The path template of the route that will serve this request, or the raw path if none does."""
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL and isinstance(route, Route):
            return route.path
    return str(scope.get("path", ""))


class SimulatorMiddleware:
    """Counts each API request by route and injects the configured faults before the route runs.

    Requests under `/_sim/` are neither counted nor faulted: tests and benchmarks drive them.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[BaseRoute],
        stats: Stats,
        plan: FaultPlan,
        replies: SystemReplies,
        template: Callable[[list[BaseRoute], Scope], str] = route_template,
    ) -> None:
        self.app = app
        self.routes = routes
        self.stats = stats
        self.plan = plan
        self.replies = replies
        self.template = template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        self.stats.count(f"{scope['method']} {self.template(self.routes, scope)}")
        self.stats.begin()
        try:
            delay = self.plan.delay_s()
            if delay:
                await asyncio.sleep(delay)
            fault = self.plan.request_fault()
            if fault == "429":
                await self.replies.rate_limited(self.plan.faults.retry_after_s)(scope, receive, send)
            elif fault in {"500", "503"}:
                await self.replies.server_error(int(fault))(scope, receive, send)
            elif fault == "drop":
                await _break_connection(send)
            else:
                await self.app(scope, receive, send)
        finally:
            self.stats.end()


async def _break_connection(send: Send) -> None:
    # ASGI gives no handle on the socket; promising a body and sending none makes the server abort the
    # connection, which the client sees as a broken connection (an incomplete read).
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


# --- control endpoints --------------------------------------------------------------------------


def control_routes(
    stats: Stats,
    plan: FaultPlan,
    *,
    save: Callable[[], dict[str, Any]] | None = None,
    load: Callable[[dict[str, Any]], None] | None = None,
    deliveries: WebhookSender | None = None,
) -> list[BaseRoute]:
    """The `/_sim/` routes every simulator serves: stats, faults, state, webhook deliveries."""

    async def get_stats(request: Request) -> Response:
        return JSONResponse(stats.snapshot())

    async def reset_stats(request: Request) -> Response:
        stats.reset()
        return JSONResponse(stats.snapshot())

    async def get_faults(request: Request) -> Response:
        return JSONResponse(asdict(plan.faults))

    async def set_faults(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("send a JSON object of fault names and values")
            plan.configure(body)
        except (ValueError, json.JSONDecodeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(asdict(plan.faults))

    async def clear_faults(request: Request) -> Response:
        plan.reset()
        return JSONResponse(asdict(plan.faults))

    routes: list[BaseRoute] = [
        Route(f"{CONTROL_PREFIX}/stats", get_stats, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/stats/reset", reset_stats, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/faults", set_faults, methods=["POST", "PUT", "PATCH"]),
        Route(f"{CONTROL_PREFIX}/faults", clear_faults, methods=["DELETE"]),
    ]
    if save is not None:
        saver = save

        async def get_state(request: Request) -> Response:
            return JSONResponse(saver())

        routes.append(Route(f"{CONTROL_PREFIX}/state", get_state, methods=["GET"]))
    if load is not None:
        loader = load

        async def put_state(request: Request) -> Response:
            try:
                loader(await request.json())
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                return JSONResponse({"error": f"state not loaded: {exc}"}, status_code=400)
            return JSONResponse({"loaded": True})

        routes.append(Route(f"{CONTROL_PREFIX}/state", put_state, methods=["PUT"]))
    if deliveries is not None:
        sender = deliveries

        async def get_deliveries(request: Request) -> Response:
            return JSONResponse({"deliveries": sender.log()})

        async def flush(request: Request) -> Response:
            sender.flush()
            return JSONResponse({"deliveries": len(sender.log())})

        routes.append(Route(f"{CONTROL_PREFIX}/webhooks", get_deliveries, methods=["GET"]))
        routes.append(Route(f"{CONTROL_PREFIX}/webhooks/flush", flush, methods=["POST"]))
    return routes


# --- webhook delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One webhook the simulated system sends: where, what, with which headers and auth."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    event: str  # e.g. "Tag Push Hook", "workitem.updated"
    auth: tuple[str, str] | None = None


@dataclass
class DeliveryRecord:
    url: str
    event: str
    status: int | None
    outcome: str  # sent, failed, dropped (fault), duplicate
    at: float = field(default_factory=time.time)
    headers: dict[str, str] = field(default_factory=dict)


class WebhookSender:
    """Posts webhooks in order from one background thread, applying the webhook faults.

    A held-back (reordered) delivery goes out right after the next one, or at `flush()`.
    """

    def __init__(self, plan: FaultPlan, *, timeout_s: float = 10.0) -> None:
        self.plan = plan
        self.timeout_s = timeout_s
        self.queue: queue.Queue[Delivery | None] = queue.Queue()
        self.records: list[DeliveryRecord] = []
        self.records_lock = threading.Lock()
        self.held: Delivery | None = None
        self.idle = threading.Event()
        self.idle.set()
        self.thread: threading.Thread | None = None
        self.client = httpx.Client(timeout=timeout_s)

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join(timeout=5)
            self.thread = None
        self.client.close()

    def send(self, delivery: Delivery) -> None:
        self.idle.clear()
        self.queue.put(delivery)
        self.start()

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued delivery is made, including a held-back one."""
        deadline = time.monotonic() + timeout_s
        while not (self.queue.empty() and self.idle.is_set()) and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.held is not None:
            held, self.held = self.held, None
            self._post(held, "sent")

    def log(self) -> list[dict[str, Any]]:
        with self.records_lock:
            return [asdict(r) for r in self.records]

    def _run(self) -> None:
        while True:
            delivery = self.queue.get()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            except Exception:  # a sender thread must outlive any one bad delivery
                log.exception("webhook delivery to %s failed", delivery.url)
            finally:
                if self.queue.empty():
                    self.idle.set()

    def _deliver(self, delivery: Delivery) -> None:
        f = self.plan.faults
        if f.webhook_fail_rate and self.plan.draw() < f.webhook_fail_rate:
            self._record(delivery, None, "dropped")
            return
        if self.held is None and f.webhook_reorder_rate and self.plan.draw() < f.webhook_reorder_rate:
            self.held = delivery
            return
        self._post(delivery, "sent")
        if f.webhook_duplicate_rate and self.plan.draw() < f.webhook_duplicate_rate:
            self._post(delivery, "duplicate")
        if self.held is not None:
            held, self.held = self.held, None
            self._post(held, "sent")

    def _post(self, delivery: Delivery, outcome: str) -> None:
        try:
            response = self.client.post(
                delivery.url,
                content=delivery.body,
                headers=dict(delivery.headers),
                auth=delivery.auth or httpx.USE_CLIENT_DEFAULT,
            )
            status: int | None = response.status_code
        except httpx.HTTPError:
            status, outcome = None, "failed"
        self._record(delivery, status, outcome)

    def _record(self, delivery: Delivery, status: int | None, outcome: str) -> None:
        # Secrets travel in some delivery headers (X-Gitlab-Token); the log keeps their names only.
        shown = {
            k: ("***" if "token" in k.lower() or "signature" in k.lower() else v)
            for k, v in delivery.headers.items()
        }
        with self.records_lock:
            self.records.append(DeliveryRecord(delivery.url, delivery.event, status, outcome, headers=shown))


# --- serving ------------------------------------------------------------------------------------


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_FREE_PORT = 20000
# Its own source of randomness: tests seed the global one, and two processes seeded alike would agree.
_ports = random.SystemRandom()
# The ports this process has handed out: chosen a moment before they are bound, two chosen together (a
# sandbox's three simulators) must never be the same.
_handed_out: set[int] = set()
_handing_out = threading.Lock()


def _ephemeral_floor() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, to serve on soon after.

    It is chosen below the kernel's ephemeral range: a port the kernel hands out (port 0) can be
    taken by any outgoing connection before the server binds it, which made servers fail to start.
    """
    floor = _ephemeral_floor()
    for _ in range(50):
        port = _ports.randrange(LOWEST_FREE_PORT, floor) if floor > LOWEST_FREE_PORT + 100 else 0
        with _handing_out:
            if port in _handed_out:
                continue
            with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
                chosen = int(sock.getsockname()[1])
            if port:  # the kernel's own choices (port 0) are not ours to keep apart
                _handed_out.add(chosen)
            return chosen
    raise OSError(f"no free port on {host} between {LOWEST_FREE_PORT} and {floor}")


class RunningServer:
    """An ASGI app served by uvicorn on a background thread; `url` is where it answers."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"sim-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator could not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
