"""Test images, and the canned replies of the loopback server that serves them."""

from __future__ import annotations

import io
from dataclasses import dataclass

from http_server import Reply as CannedReply
from PIL import Image


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), colour: int = 90) -> bytes:
    image = Image.new("RGB", size, (colour, 255 - colour, 40))
    for x in range(0, size[0], 8):
        for y in range(size[1]):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@dataclass
class Reply(CannedReply):
    """A canned answer that says it is a JPEG unless told otherwise."""

    content_type: str = "image/jpeg"
