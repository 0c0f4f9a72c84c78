"""Decoding images the way a viewer shows them, at a working size. Pure (bytes in, pixels out).

Institutions send the same picture in many encodings, and a detector that compares pixels
must first see what a person sees:

- **orientation**: camera files store the sensor's pixels plus an EXIF ``Orientation`` tag
  (values 2 to 8 mirror and/or turn the picture); it is applied, and the tag dropped;
- **colour**: an embedded ICC profile (Adobe RGB, a scanner's profile, CMYK) is converted to
  sRGB, so a re-export in another colour space keeps its colours;
- **transparency**: alpha is flattened onto white (what a catalogue page shows);
- **bit depth**: 16-bit greyscale is scaled to 8 bits (divided by 257), not clipped;
- **size**: the longest side is reduced to ``WORKING_PX`` (never enlarged). JPEG files are
  decoded at a reduced scale directly (``draft``), which makes large camera files cheap.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image, ImageCms, ImageOps

log = logging.getLogger(__name__)

WORKING_PX = 1024
DEFAULT_MAX_PIXELS = 64_000_000
_SRGB = ImageCms.createProfile("sRGB")


def decode_image_bytes(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, working_px: int = WORKING_PX
) -> Image.Image:
    """The image in ``data`` as an upright sRGB picture at most ``working_px`` on its longest
    side; ValueError with the reason for data that is not a whole image or is too large."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise ValueError(
                f"{width}x{height} pixels is over the limit of {max_pixels} "
                "(decompression-bomb guard; raise HERITAGE_IMAGE_MAX_PIXELS to accept it)"
            )
        if image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers the working size.
            image.draft(image.mode, (working_px, working_px))
        image.load()
    except ValueError:
        raise
    except Exception as error:  # Pillow raises many types for bad data
        raise ValueError(f"not a decodable image: {type(error).__name__}: {error}") from None
    return normalise_image(image, working_px)


def normalise_image(image: Image.Image, working_px: int = WORKING_PX) -> Image.Image:
    """RGB, EXIF orientation applied, sRGB, alpha on white, longest side <= ``working_px``."""
    upright = _upright(image)
    rgb = _to_srgb(upright)
    if max(rgb.size) > working_px:
        rgb = rgb.copy() if rgb is image else rgb
        rgb.thumbnail((working_px, working_px), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return rgb


def _upright(image: Image.Image) -> Image.Image:
    """The picture as the EXIF Orientation tag says to show it (unchanged without a tag)."""
    try:
        orientation = image.getexif().get(0x0112)
    except Exception:  # a malformed EXIF block: show the pixels as stored
        return image
    if orientation in (None, 1):
        return image
    try:
        return ImageOps.exif_transpose(image)
    except Exception as error:  # an invalid tag value: keep the stored pixels
        log.debug("EXIF orientation ignored", extra={"error": str(error)[:200]})
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Any mode and colour profile as sRGB RGB; transparent pixels become white."""
    profile = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return _scale_to_8bit(image).convert("RGB")
    if image.mode == "F":
        return _scale_to_8bit(image).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flattened = Image.alpha_composite(background, rgba).convert("RGB")
        return _apply_profile(flattened, profile, "RGB")
    if profile and image.mode == "P":
        image = image.convert("RGB")
    if profile and image.mode in ("RGB", "CMYK", "L"):
        converted = _apply_profile(image, profile, image.mode)
        if converted is not image:
            return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def _apply_profile(image: Image.Image, profile: bytes | None, mode: str) -> Image.Image:
    """``image`` converted from its embedded profile to sRGB; RGB of it when the profile is
    missing, unreadable or does not fit the mode."""
    if not profile:
        return image if image.mode == "RGB" else image.convert("RGB")
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except Exception as error:  # a broken or mismatched profile: keep the numbers as they are
        log.debug("ICC profile ignored", extra={"error": str(error)[:200], "mode": mode})
        return image if image.mode == "RGB" else image.convert("RGB")
    assert converted is not None
    return converted


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float greyscale as 8 bits the way viewers show it: 16-bit values
    divided by 257, floats in 0..1 times 255; other ranges stretched to 0..255."""
    values = np.asarray(image.convert("F") if image.mode != "F" else image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if image.mode.startswith("I;16") or (image.mode == "I" and low >= 0 and 255 < high <= 65535):
        scaled = values / 257.0
    elif image.mode == "F" and low >= 0 and high <= 1.0:
        scaled = values * 255.0
    elif high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    return Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), mode="L")
