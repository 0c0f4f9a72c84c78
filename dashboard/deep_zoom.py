"""The full image with deep zoom: the stored original made fit for a browser (upright, at most
``VIEWER_MAX_SIDE`` px on its longest side, never enlarged) and the HTML of an OpenSeadragon
viewer for it, which the object page shows in an iframe. OpenSeadragon is vendored under
static/openseadragon/ and inlined, so the page loads no script from elsewhere. Pure
functions."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageOps

OPENSEADRAGON_DIR = Path(__file__).resolve().parent / "static" / "openseadragon"
# Where `heritage dashboard` serves the viewer's button images (server.enableStaticServing).
OPENSEADRAGON_IMAGES_URL = "/app/static/openseadragon/images/"
# Longest side handed to the viewer: sharp on any screen, a few MB as a data URL.
VIEWER_MAX_SIDE = 4096
# Larger originals are not decoded by the dashboard (decompression bomb guard).
MAX_DECODED_PIXELS = 200_000_000
# Formats every browser draws as they are, when no downscaling is needed.
BROWSER_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class ImageNotViewable(ValueError):
    """The stored bytes are not an image the dashboard can show."""


@dataclass(frozen=True)
class ViewerImage:
    data: bytes
    mime: str
    width: int
    height: int


def fitted_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size that fits ``max_side`` with the aspect kept; never larger than the image."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def viewer_image(data: bytes, max_side: int = VIEWER_MAX_SIDE) -> ViewerImage:
    """The original as a browser shows it: as stored when it is already upright, small
    enough and in a browser format; otherwise re-encoded (JPEG, or PNG to keep alpha)."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_DECODED_PIXELS:
            raise ImageNotViewable(
                f"the original is {image.width}x{image.height} pixels, too large to show here"
            )
        fmt = image.format or ""
        rotated = image.getexif().get(0x0112, 1) not in (0, 1)
        if fmt in BROWSER_FORMATS and not rotated and max(image.size) <= max_side:
            return ViewerImage(data, BROWSER_FORMATS[fmt], image.width, image.height)
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale, faster
        upright = ImageOps.exif_transpose(image) or image
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except ImageNotViewable:
        raise
    except Exception as error:  # Pillow raises many types for bad data
        raise ImageNotViewable(f"not a decodable image ({type(error).__name__})") from None
    has_alpha = upright.mode in ("RGBA", "LA") or "transparency" in upright.info
    out = io.BytesIO()
    if has_alpha:
        upright.convert("RGBA").save(out, format="PNG", optimize=True)
        mime = "image/png"
    else:
        upright.convert("RGB").save(out, format="JPEG", quality=90)
        mime = "image/jpeg"
    return ViewerImage(out.getvalue(), mime, upright.width, upright.height)


@cache
def openseadragon_script() -> str:
    """The vendored viewer, read once per process."""
    return (OPENSEADRAGON_DIR / "openseadragon.min.js").read_text(encoding="utf-8")


def data_url(image: ViewerImage) -> str:
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"


def viewer_html(image: ViewerImage, title: str, height_px: int) -> str:
    """A page with one OpenSeadragon viewer showing ``image`` (a simple-image tile source).

    The canvas drawer, not WebGL: it draws without a GPU (remote desktops, VMs) and its
    pixels can be read back, which the browser test uses to see that the image was drawn."""
    options = {
        "id": "viewer",
        "prefixUrl": OPENSEADRAGON_IMAGES_URL,
        "drawer": "canvas",
        "tileSources": {"type": "image", "url": data_url(image), "buildPyramid": True},
        "showNavigator": True,
        "showRotationControl": True,
        "maxZoomPixelRatio": 4,
        "visibilityRatio": 1,
        "crossOriginPolicy": False,
    }
    # "</" cannot close the script element early: JSON escapes it here.
    options_json = json.dumps(options).replace("</", "<\\/")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "html,body{margin:0;height:100%;background:#f3f3f3;font-family:sans-serif}"
        f"#viewer{{width:100%;height:{height_px}px;background:#222}}"
        "</style></head><body>"
        f"<div id='viewer' role='img' aria-label='{html.escape(title, quote=True)}'></div>"
        f"<script>{openseadragon_script()}</script>"
        f"<script>window.viewer = OpenSeadragon({options_json});</script>"
        "</body></html>"
    )
