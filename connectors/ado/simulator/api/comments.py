"""Work item comments over REST (7.1-preview.4): add, list in pages, read one."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from connectors.ado.simulator import views
from connectors.ado.simulator.api.call import Call
from connectors.ado.simulator.errors import AdoError, bad_argument
from connectors.ado.simulator.model import AdoModel


def add_comment(model: AdoModel, call: Call) -> Response:
    body = call.json()
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise bad_argument("Value cannot be null.\r\nParameter name: text", "ArgumentNullException")
    comment_format = (call.query.get("format") or "html").lower()
    created = model.add_comment(call.int_param("id"), text, comment_format=comment_format)
    return JSONResponse(views.comment(model, created))


def comments(model: AdoModel, call: Call) -> Response:
    item_id = call.int_param("id")
    every = [c for c in model.comment_list(item_id) if not c["isDeleted"] or call.flag("includeDeleted")]
    if call.query.get("ids"):
        wanted = {int(i) for i in call.query["ids"].split(",") if i.strip()}
        every = [c for c in every if c["id"] in wanted]
    # Newest first unless `order=asc` [UNVERIFIED default].
    if call.query.get("order", "desc").lower() != "asc":
        every.reverse()
    top = int(call.query.get("$top", "200"))
    start = int(call.query.get("continuationtoken", "0") or 0)
    page = every[start : start + top]
    url = f"{model.item_url(item_id)}/comments"
    body: dict[str, Any] = {
        "totalCount": len(every),
        "count": len(page),
        "comments": [views.comment(model, c) for c in page],
        "url": url,
    }
    if start + top < len(every):
        body["continuationToken"] = str(start + top)
        body["nextPage"] = f"{url}?continuationToken={start + top}&$top={top}"
    return JSONResponse(body)


def comment(model: AdoModel, call: Call) -> Response:
    cid = call.int_param("cid")
    for c in model.comment_list(call.int_param("id")):
        if c["id"] == cid:
            return JSONResponse(views.comment(model, c))
    raise AdoError(
        404,
        f"Comment {cid} does not exist.",
        "CommentNotFoundException",
        namespace="Microsoft.TeamFoundation.Comments.Server",
    )
