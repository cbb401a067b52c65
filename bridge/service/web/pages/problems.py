"""Errors on the pages as pages: a person who follows a stale link or types a bad filter reads what went
wrong, with the navigation to go on, instead of a JSON body. The API, webhooks and probes keep JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from bridge.service.web.pages.layout import page_html

# Paths whose callers are programs: their errors stay JSON, as the OpenAPI document says.
MACHINE_PREFIXES = ("/api", "/hooks", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz", "/readyz")
TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    422: "Not understood",
}


def _for_a_person(request: Request) -> bool:
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def _problem_page(request: Request, status: int, detail: str) -> Response:
    answer = page_html(
        "problem.html",
        request.url.path,
        title=TITLES.get(status, "Something went wrong"),
        status=status,
        detail=detail,
    )
    answer.status_code = status
    return answer


def add_problem_pages(app: FastAPI) -> None:
    """Render the pages' errors (4xx and 5xx raised as HTTPException, and bad query values) as pages."""

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code < 400 or not _for_a_person(request):
            return await http_exception_handler(request, exc)
        return _problem_page(request, exc.status_code, str(exc.detail))

    async def on_bad_values(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not _for_a_person(request):
            return await request_validation_exception_handler(request, exc)
        wrong = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'the request'}: {error['msg']}"
            for error in exc.errors()
        )
        return _problem_page(request, 422, f"The address holds a value the page cannot use: {wrong}.")

    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_bad_values)
