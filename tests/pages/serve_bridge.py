"""`bridge run` with the pages served: the same command, its app given the pages' router when it lacks it.

The browser tests start this as a process. Once the service's app includes the pages itself, this is
exactly `bridge run`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import bridge.service.runner as runner
from bridge.cli import app
from bridge.service.app import create_app
from bridge.service.pages import pages_router
from bridge.service.processor import Processor


def create_app_with_pages(processor: Processor, **options: Any) -> FastAPI:
    service_app = create_app(processor, **options)
    if not any(getattr(route, "path", None) == "/report" for route in service_app.routes):
        service_app.include_router(pages_router(processor))
    return service_app


if __name__ == "__main__":
    runner.create_app = create_app_with_pages  # type: ignore[assignment]
    app(prog_name="bridge")
