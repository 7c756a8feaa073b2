"""Reading one uploaded image from a multipart request: size-capped, typed by its content.

The declared part `Content-Type` and file name are ignored: they are whatever the client
says. The type is recognised from the bytes (magic numbers via `filetype`; SVG by
parsing its start), so a text file named `.png` is refused.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import filetype
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from server.http.errors import BadRequest, PayloadTooLarge

PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
SVG = "image/svg+xml"

RASTER_IMAGES = frozenset({PNG, JPEG, WEBP})
IMAGES_AND_SVG = RASTER_IMAGES | {SVG}

_NAMES = {PNG: "PNG", JPEG: "JPEG", WEBP: "WebP", SVG: "SVG"}
_CHUNK = 64 * 1024
# Room for the multipart boundaries and part headers around the file itself.
_MULTIPART_OVERHEAD = 16 * 1024

# An SVG document may start with a BOM, an XML declaration, comments and a doctype.
_SVG_PROLOG = re.compile(
    r"\A(?:\s+|<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE\s+svg[^>\[]*>)*", re.IGNORECASE | re.DOTALL
)
_SVG_ROOT = re.compile(r"<svg[\s/>]", re.IGNORECASE)
# Event handler attributes (onload=, onclick=, ...): the separator before `on` may be
# whitespace, a quote or a slash (`<svg/onload=...>` is valid HTML-parser input).
_EVENT_HANDLER = re.compile(r"[\s\"'/]on[a-z]+\s*=", re.IGNORECASE)
# Active content and parser tricks that have no place in a logo.
_SVG_FORBIDDEN = (
    "<script",
    "javascript:",
    "vbscript:",
    "data:text/html",
    "<!entity",  # entity expansion ("billion laughs") and external entities
    "<foreignobject",  # embeds arbitrary HTML
    "<iframe",
    "<embed",
    "<object",
)


@dataclass(frozen=True)
class Upload:
    data: bytes
    content_type: str


async def read_upload(
    request: web.Request, *, limit: int, allowed: frozenset[str], field: str = "file"
) -> Upload:
    """The file in multipart `field`: 413 above `limit` bytes, 400 unless of an `allowed` type."""
    data = await _read_field(request, limit=limit, field=field)
    content_type = sniff_image(data, allowed)
    if content_type is None:
        names = ", ".join(_NAMES[t] for t in sorted(allowed, key=list(_NAMES).index))
        raise BadRequest(f"Unsupported file type: the file must be a {names} image")
    return Upload(data=data, content_type=content_type)


async def _read_field(request: web.Request, *, limit: int, field: str) -> bytes:
    if not request.content_type.startswith("multipart/form-data"):
        raise BadRequest(f"Expected a multipart/form-data upload with a '{field}' field")
    if request.content_length is not None and request.content_length > limit + _MULTIPART_OVERHEAD:
        raise PayloadTooLarge(_too_large(limit))
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != field:
                continue
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(_too_large(limit))
                chunks.append(chunk)
            if size == 0:
                raise BadRequest(f"The '{field}' file is empty")
            return b"".join(chunks)
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as exc:
        # aiohttp raises these for a malformed multipart body (bad boundary, truncated part,
        # a part header with control characters).
        raise BadRequest(f"Malformed multipart body: {exc}") from exc
    raise BadRequest(f"body field '{field}': a file is required")


def _too_large(limit: int) -> str:
    return f"File too large: the limit is {limit // (1024 * 1024)} MB ({limit} bytes)"


def sniff_image(data: bytes, allowed: frozenset[str]) -> str | None:
    """The image MIME type recognised from the bytes, if it is one of `allowed`."""
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime if kind.mime in allowed and kind.mime != SVG else None
    if SVG in allowed and is_safe_svg(data):
        return SVG
    return None


def is_safe_svg(data: bytes) -> bool:
    """A UTF-8 document whose root element is <svg>, with no script or event handlers.

    The logo is also served with a `default-src 'none'` Content-Security-Policy, so this
    check is a second line of defence rather than a sanitizer.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if "\x00" in text:
        return False
    prolog = _SVG_PROLOG.match(text)
    rest = text[prolog.end() if prolog else 0 :]
    if not _SVG_ROOT.match(rest):
        return False
    # Character references can hide a keyword (`&#106;avascript:`) and browsers drop
    # whitespace inside URL schemes, so look at the unescaped text with whitespace removed.
    unescaped = html.unescape(text)
    squeezed = re.sub(r"\s+", "", unescaped).lower()
    if any(word in squeezed for word in _SVG_FORBIDDEN):
        return False
    return not (_EVENT_HANDLER.search(text) or _EVENT_HANDLER.search(unescaped))


def image_response(data: bytes, content_type: str) -> web.Response:
    """Serves stored image bytes; SVG is sandboxed so it can never run script in our origin."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
        "Content-Disposition": "inline",
    }
    if content_type == SVG:
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return web.Response(body=data, content_type=content_type, headers=headers)
