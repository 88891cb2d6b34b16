"""The interactive API documentation: FastAPI's Swagger UI page under its own policy.

Swagger UI's files come from a CDN (jsDelivr) and the page starts it with one inline
script, so the policy every other response gets (`api/security.py`) would block it. This
page allows that CDN and that one script by its SHA-256 hash, and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

DOCS_PATH: Final = "/docs"
CDN: Final = "https://cdn.jsdelivr.net"
FAVICON_HOST: Final = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT: Final = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def docs_policy(html: str) -> str:
    """The page's policy: its CDN files, each of its inline scripts by hash, fetches of
    the schema (and "Try it out") on this origin."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {CDN} {hashes}",
            f"style-src {CDN}",
            f"img-src 'self' data: {CDN} {FAVICON_HOST}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    root_path = request.scope.get("root_path", "").rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=f"{root_path}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
    )
    html = bytes(page.body).decode()
    page.headers["content-security-policy"] = docs_policy(html)
    return page
