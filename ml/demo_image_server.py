"""A small local image server for the demo and tests: deterministic images per record.

The sample collection's image URLs look like
``https://media.<dataset>.example.org/iiif/<local_id>/full/<size>/0/default.jpg``; pointed at
this server (:func:`local_image_url`) they become
``http://127.0.0.1:<port>/media/<dataset>/iiif/<local_id>/full/<size>/0/default.jpg``.
Each ``local_id`` gets its own picture (random shapes, colours and gradients seeded by the
id), so distinct records have clearly distinct images. Size ``max`` serves the original; any
other size (the collection's near-duplicates ask for ``1200,``) serves a transformed variant
of the same picture — resized, slightly brightened and recompressed — which a near-duplicate
detector should find. Exact duplicates share their original's URL, hence its bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

DEFAULT_PORT = 18080
_SOURCE_URL = re.compile(r"^https?://media\.([A-Za-z0-9_-]+)\.example\.org(/iiif/.*)$")
_PATH = re.compile(r"^/media/([A-Za-z0-9_-]+)/iiif/([^/]+)/full/([^/]+)/0/default\.jpg$")
ORIGINAL_SIZE = (480, 360)


def local_image_url(url: str, base_url: str) -> str:
    """The sample collection's example.org image URL served by this server at ``base_url``;
    other URLs unchanged."""
    match = _SOURCE_URL.match(url)
    if not match:
        return url
    return f"{base_url.rstrip('/')}/media/{match.group(1)}{match.group(2)}"


def _picture(local_id: str) -> Image.Image:
    seed = int.from_bytes(hashlib.sha256(local_id.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    width, height = ORIGINAL_SIZE
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", ORIGINAL_SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randint(6, 12)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = min(width, x0 + rng.randint(40, 220))
        y1 = min(height, y0 + rng.randint(40, 180))
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "ellipse":
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif shape == "rectangle":
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(3)]
            draw.polygon(points, fill=colour)
    return image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@lru_cache(maxsize=4096)
def demo_image(local_id: str, variant: bool = False) -> bytes:
    """The JPEG for a record's ``local_id``: the original, or a transformed variant."""
    picture = _picture(local_id)
    if not variant:
        return _jpeg(picture, 90)
    width, height = picture.size
    smaller = picture.resize((int(width * 0.8), int(height * 0.8)), Image.Resampling.LANCZOS)
    softened = ImageEnhance.Brightness(smaller.filter(ImageFilter.GaussianBlur(0.6))).enhance(1.06)
    return _jpeg(softened, 72)


class _Handler(BaseHTTPRequestHandler):
    server_version = "heritage-demo-images/0.1"

    def do_GET(self) -> None:
        match = _PATH.match(self.path.split("?", 1)[0])
        if not match:
            self.send_error(404, "no such image")
            return
        (
            _dataset,
            local_id,
            size,
        ) = match.groups()
        body = demo_image(local_id, variant=size != "max")
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=86400")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_demo_images(port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve in a background thread; yields the base URL (port 0 picks a free one)."""
    try:
        server = ThreadingHTTPServer((host, port), _Handler)
    except OSError as error:
        raise OSError(
            f"demo image server: cannot listen on {host}:{port} ({error}); set "
            "HERITAGE_DEMO_IMAGE_PORT to a free port"
        ) from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-images", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the demo's deterministic images.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    with serve_demo_images(args.port) as base:
        print(f"serving demo images at {base}/media/<dataset>/iiif/<id>/full/max/0/default.jpg")
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
