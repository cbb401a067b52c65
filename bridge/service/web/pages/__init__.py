"""Server-rendered pages for release and environment managers, and the readiness report's renderings."""

from bridge.service.web.pages.options import PageOptions
from bridge.service.web.pages.rendering import render_report_html, render_report_markdown
from bridge.service.web.pages.router import pages_router

__all__ = ["PageOptions", "pages_router", "render_report_html", "render_report_markdown"]
