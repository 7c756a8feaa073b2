"""/openapi.json, /docs (Swagger UI) and /redoc, from files installed with the package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
OPENAPI: web.AppKey[Callable[[], bytes]] = web.AppKey("openapi_json")

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Upmetr API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/swagger-ui/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""

# ReDoc's standalone bundle would load Google Fonts unless told otherwise; the page must work
# with no internet, so fonts come from the system.
_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Upmetr API</title></head>
<body><redoc spec-url="/openapi.json" disable-search="false"></redoc>
<script src="/static/redoc/redoc.standalone.js"></script>
</body></html>
"""


async def serve_openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI](), content_type="application/json")


async def swagger_ui(_request: web.Request) -> web.Response:
    return web.Response(text=_SWAGGER, content_type="text/html")


async def redoc(_request: web.Request) -> web.Response:
    return web.Response(text=_REDOC, content_type="text/html")


def add_docs(app: web.Application, openapi_json: Callable[[], bytes]) -> None:
    """Serve the document `openapi_json()` gives, asked for when a client asks for it."""
    app[OPENAPI] = openapi_json
    app.router.add_get("/openapi.json", serve_openapi_json)
    app.router.add_get("/docs", swagger_ui)
    app.router.add_get("/redoc", redoc)
    app.router.add_static("/static", STATIC_DIR)
