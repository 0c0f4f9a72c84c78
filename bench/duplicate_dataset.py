"""The near-duplicate evaluation set: real photographs and book-page scans with their copies.

    python bench/duplicate_dataset.py [--seed N] [--write DIR]

Every image is the encoded file an institution would send (``BenchImage.data``): PNG, JPEG,
lossy WebP, TIFF (LZW or CCITT Group 4), some JPEGs carrying an EXIF Orientation tag.

Photographs (``kind="photo"``): scikit-image's sample photographs, scikit-learn's china and
flower, and any image under ../shared/corpus. The larger ones are also cut into quadrants,
each a base of its own: hard distractors (different regions of one picture). Each base is
stored as PNG ("original") with about twenty copies (``PHOTO_TRANSFORMS``): format
conversions, EXIF orientations (two of the seven per base, cycling), mirror, quarter turns,
small rotations with fill, crops, a caption band, overlaid text, strong recompression,
resizes, colour shifts (two of four per base, cycling), a frame, and resize + JPEG + crop.

Pages (``kind="page"``): books typeset with the project's synthetic page text, four pages of
consecutive text per book, every page of a book sharing font, language, genre, layout and
running head. Each page's "original" is a scan (slight skew, paper tone, noise, JPEG, some
with a dark scanner-bed border); its copies (``PAGE_TRANSFORMS``) are the derivatives a
digitisation workflow makes: binarised, deskewed, cropped to the text block, all three
together (what ScanTailor produces), quarter turns, an EXIF-oriented JPEG, a half-size JPEG
and lossless conversions. scikit-image's ``page`` and ``text`` scans are page bases too.

Labels: copies of one base are duplicates; a whole photograph and one of its own quadrants
are ambiguous (not counted); everything else is distinct, different pages of one book
included (the hard negatives). The split unit is the family (a photograph with its quadrants,
or a whole book), and a pair across the two splits is never counted. Photographs cut into
quadrants are ranked by how alike their quadrants are (``quadrant_similarity``: the least
pHash distance between two quadrants, one of them in any orientation; computed from the
pixels, before any detector runs) and taken two by two, a seeded coin sending one of each
pair to "tuning" and the other to "test", so both parts get distractors of every hardness;
the other families of each kind are shared out by a seeded shuffle, about half to each.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps
from skimage.filters import threshold_otsu, threshold_sauvola
from sklearn.datasets import load_sample_images

from heritage.ml.image_hashes import hamming_distance, oriented_hashes
from heritage.ocr.synthetic_page_text import (
    GENRES,
    LANGUAGES,
    accession_number,
    page_heading,
    paragraph,
)
from heritage.ocr.synthetic_pages import (
    add_gaussian_noise,
    available_fonts,
    quarter_turn,
    skew,
    wrap_words,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".bmp"}
# scikit-image's bundled sample photographs (no download). Left out: motorcycle's right view
# (the left one is used), microaneurysms (a crop of retina), the synthetic images, the
# 25-pixel faces of lfw_subset, and page and text, which are page bases.
SKIMAGE_PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "retina",
    "immunohistochemistry", "coins", "moon", "cell", "grass", "gravel", "brick", "clock",
)  # fmt: skip
SKIMAGE_PAGES = ("page", "text")
# Photographs big enough to cut into quadrants of at least 200 px (textures excluded: two
# patches of grass are not a fair test of anything).
TILED = {
    "astronaut", "coffee", "rocket", "camera", "hubble_deep_field", "retina",
    "immunohistochemistry", "moon", "cell", "china", "flower", "motorcycle",
}  # fmt: skip
SPLITS = ("tuning", "test")
BOOKS = 8
PAGES_PER_BOOK = 4
# Pages are typeset at 150 dpi (A4 = 1240 x 1754): half the pixels of a 300 dpi master in
# each direction, so the whole set builds in about a minute on two cores.
PAGE_SIZE = (1240, 1754)
EXIF_ORIENTATION = 0x0112
EXIF_PER_BASE = 2
COLOURS_PER_BASE = 2
COLOUR_SHIFTS = ("colour_adjust", "hue_shift", "sepia", "grayscale")


@dataclass(frozen=True)
class BenchImage:
    name: str  # "<group>/<transform>", unique
    group: str  # duplicates share a group (a base and its copies)
    family: str  # the photograph or book it comes from; the split unit
    kind: str  # "photo" | "page"
    whole: bool  # the base is a whole photograph or page (False: a quadrant)
    transform: str  # "original" or a transform name
    split: str  # "tuning" | "test"
    data: bytes  # the encoded file, as an institution would send it


# --- encoding ---------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    """The stored pixels of an encoded file (no EXIF orientation applied)."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        return opened.copy()


def jpeg(image: Image.Image, quality: int) -> bytes:
    return encode(
        image.convert("RGB") if image.mode not in ("L", "RGB") else image, "JPEG", quality=quality
    )


# What a viewer does for each EXIF orientation (as ImageOps.exif_transpose), and its inverse:
# the file stores the inverse of the original so that the viewer shows the original.
_VIEWER = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STORED = {
    **_VIEWER,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def exif_oriented_jpeg(image: Image.Image, orientation: int, quality: int = 90) -> bytes:
    """A JPEG whose pixels are stored turned/mirrored and whose Orientation tag undoes that."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    stored = image.transpose(_STORED[orientation])
    return encode(
        stored.convert("RGB") if stored.mode != "L" else stored, "JPEG", quality=quality, exif=exif
    )


# --- photo transforms -------------------------------------------------------------------


def _resize(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _thumbnail(image: Image.Image, longest: int = 200) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return copy


def _crop(image: Image.Image, keep: float, rng: random.Random, centred: bool) -> Image.Image:
    width, height = round(image.width * keep), round(image.height * keep)
    if centred:
        left, top = (image.width - width) // 2, (image.height - height) // 2
    else:
        left = rng.choice((0, image.width - width))
        top = rng.choice((0, image.height - height))
    return image.crop((left, top, left + width, top + height))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    fonts = available_fonts()
    if fonts:
        return ImageFont.truetype(str(fonts[-1 if len(fonts) > 1 else 0]), size)
    return ImageFont.load_default(size=size)


def _caption(image: Image.Image, rng: random.Random) -> Image.Image:
    """A band of text under the picture, as on a museum's web image."""
    band = max(24, round(image.height * rng.uniform(0.10, 0.16)))
    paper = rng.choice(((255, 255, 255), (240, 238, 232), (30, 30, 30)))
    ink = (20, 20, 20) if sum(paper) > 384 else (235, 235, 235)
    canvas = Image.new("RGB", (image.width, image.height + band), paper)
    canvas.paste(image.convert("RGB"), (0, 0))
    title = rng.choice(
        (
            "Unknown maker",
            "Studio photograph",
            "Gift of the family",
            "Photographer unknown",
            "Anonymous",
        )
    )
    text = f"{title}, c. {rng.randint(1860, 1990)}. Inv. {accession_number(rng)}"
    draw = ImageDraw.Draw(canvas)
    draw.text(
        (max(4, image.width // 40), image.height + band // 4),
        text,
        fill=ink,
        font=_font(max(10, band // 3)),
    )
    return canvas


def _overlay_text(image: Image.Image, rng: random.Random) -> Image.Image:
    copy = image.convert("RGB")
    draw = ImageDraw.Draw(copy)
    size = max(12, copy.height // 9)
    text = rng.choice(("© Museum archive", "SAMPLE  2024", "Rijksmuseum · do not copy"))
    y = rng.choice((copy.height // 12, copy.height - 2 * size))
    draw.text(
        (copy.width // 20, y),
        text,
        fill=(255, 255, 255),
        font=_font(size),
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return copy


def _small_rotation(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice((-1.0, 1.0)) * rng.uniform(2.0, 7.0)
    fill = rng.choice(((255, 255, 255), (0, 0, 0)))
    return image.convert("RGB").rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=rng.random() < 0.5, fillcolor=fill
    )


def _frame(image: Image.Image, rng: random.Random) -> Image.Image:
    """A mat and a moulding around the picture."""
    longest = max(image.size)
    mat = ImageOps.expand(
        image.convert("RGB"),
        border=max(3, round(0.04 * longest)),
        fill=rng.choice(((250, 248, 240), (255, 255, 255))),
    )
    moulding = rng.choice(((0, 0, 0), (128, 96, 64), (90, 60, 30)))
    return ImageOps.expand(mat, border=max(3, round(0.03 * longest)), fill=moulding)


def _colour_adjust(image: Image.Image, rng: random.Random) -> Image.Image:
    adjusted = ImageEnhance.Brightness(image.convert("RGB")).enhance(rng.uniform(0.8, 1.2))
    adjusted = ImageEnhance.Contrast(adjusted).enhance(rng.uniform(0.8, 1.25))
    return ImageEnhance.Color(adjusted).enhance(rng.uniform(0.6, 1.4))


def _hue_shift(image: Image.Image, rng: random.Random) -> Image.Image:
    hsv = np.array(image.convert("RGB").convert("HSV"))
    shift = rng.choice((-1, 1)) * rng.randint(10, 25)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + shift) % 256
    return Image.fromarray(hsv, mode="HSV").convert("RGB")


def _sepia(image: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.colorize(ImageOps.grayscale(image), black=(40, 26, 13), white=(255, 240, 192))


def _combo(image: Image.Image, rng: random.Random) -> bytes:
    return jpeg(_crop(_resize(image.convert("RGB"), 0.7), 0.95, rng, centred=True), 50)


PhotoTransform = Callable[[Image.Image, random.Random], bytes]


def _as_jpeg(pixels: Callable[[Image.Image, random.Random], Image.Image]) -> PhotoTransform:
    """A pixel transform whose result is sent as a good-quality JPEG."""

    def apply(image: Image.Image, rng: random.Random) -> bytes:
        return jpeg(pixels(image, rng), rng.randint(88, 95))

    return apply


def _exif_copy(orientation: int) -> PhotoTransform:
    def apply(image: Image.Image, rng: random.Random) -> bytes:
        return exif_oriented_jpeg(image, orientation, rng.randint(88, 95))

    return apply


_PHOTO_TRANSFORMS: dict[str, PhotoTransform] = {
    "to_jpeg": lambda image, rng: jpeg(image, rng.randint(85, 95)),
    "to_webp": lambda image, rng: encode(image, "WEBP", quality=rng.randint(70, 85)),
    "to_tiff": lambda image, rng: encode(image, "TIFF", compression="tiff_lzw"),
    **{f"exif_{orientation}": _exif_copy(orientation) for orientation in range(2, 9)},
    "mirror": _as_jpeg(lambda image, rng: ImageOps.mirror(image)),
    "rotate_90": _as_jpeg(lambda image, rng: quarter_turn(image, 90)),
    "rotate_180": _as_jpeg(lambda image, rng: quarter_turn(image, 180)),
    "rotate_270": _as_jpeg(lambda image, rng: quarter_turn(image, 270)),
    "rotate_small": _as_jpeg(_small_rotation),
    "crop_5": _as_jpeg(lambda image, rng: _crop(image, 0.95, rng, centred=True)),
    "crop_10": _as_jpeg(lambda image, rng: _crop(image, 0.90, rng, centred=False)),
    "caption": _as_jpeg(_caption),
    "text_overlay": _as_jpeg(_overlay_text),
    "recompress": lambda image, rng: jpeg(image, rng.randint(20, 35)),
    "resize_50": _as_jpeg(lambda image, rng: _resize(image, 0.5)),
    "thumbnail_200": _as_jpeg(lambda image, rng: _thumbnail(image)),
    "colour_adjust": _as_jpeg(_colour_adjust),
    "hue_shift": _as_jpeg(_hue_shift),
    "sepia": _as_jpeg(_sepia),
    "grayscale": _as_jpeg(lambda image, rng: ImageOps.grayscale(image)),
    "frame": _as_jpeg(_frame),
    "resize_jpeg_crop": _combo,
}
PHOTO_TRANSFORMS: tuple[str, ...] = tuple(_PHOTO_TRANSFORMS)


def photo_transforms_for(index: int) -> list[str]:
    """The transforms applied to the ``index``-th photo base: all but the cycling ones, plus
    EXIF_PER_BASE of the seven orientations and COLOURS_PER_BASE of the colour shifts."""
    orientations = {f"exif_{(EXIF_PER_BASE * index + k) % 7 + 2}" for k in range(EXIF_PER_BASE)}
    colours = {COLOUR_SHIFTS[(COLOURS_PER_BASE * index + k) % 4] for k in range(COLOURS_PER_BASE)}
    return [
        name
        for name in PHOTO_TRANSFORMS
        if (not name.startswith("exif_") or name in orientations)
        and (name not in COLOUR_SHIFTS or name in colours)
    ]


# --- photo sources ----------------------------------------------------------------------


def _wanted(name: str, names: Sequence[str] | None) -> bool:
    return names is None or name in names


def source_photos(names: Sequence[str] | None = None) -> list[tuple[str, Image.Image]]:
    """(name, RGB image) of every real photograph used (``names``: only those)."""
    photos = [
        (name, Image.fromarray(getattr(skimage.data, name)()).convert("RGB"))
        for name in SKIMAGE_PHOTOS
        if _wanted(name, names)
    ]
    if _wanted("motorcycle", names):
        left, _, _ = skimage.data.stereo_motorcycle()
        photos.append(("motorcycle", Image.fromarray(left).convert("RGB")))
    if _wanted("china", names) or _wanted("flower", names):
        samples = load_sample_images()
        for path, array in zip(samples.filenames, samples.images, strict=True):
            if _wanted(Path(path).stem, names):
                photos.append((Path(path).stem, Image.fromarray(array).convert("RGB")))
    photos.extend((name, image) for name, image in _corpus_photos() if _wanted(name, names))
    return photos


def _corpus_photos() -> Iterator[tuple[str, Image.Image]]:
    if not CORPUS.is_dir():
        return
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            name = "corpus:" + str(path.relative_to(CORPUS)).replace("/", "_")
            try:
                with Image.open(path) as opened:
                    yield name, ImageOps.exif_transpose(opened).convert("RGB")
            except OSError as error:
                print(f"duplicate_dataset: skipping {path}: {error}", file=sys.stderr)


def _quadrants(image: Image.Image) -> list[Image.Image]:
    half_w, half_h = image.width // 2, image.height // 2
    return [image.crop((x, y, x + half_w, y + half_h)) for y in (0, half_h) for x in (0, half_w)]


def photo_bases(names: Sequence[str] | None) -> list[tuple[str, str, bool, Image.Image]]:
    """(group, family, whole, image): whole photographs and the quadrants of the big ones."""
    bases = []
    for name, photo in source_photos(names):
        bases.append((name, name, True, photo))
        if is_tiled(name, photo):
            for index, quadrant in enumerate(_quadrants(photo)):
                bases.append((f"{name}#q{index}", name, False, quadrant))
    return bases


def is_tiled(name: str, photo: Image.Image) -> bool:
    return name in TILED or (name.startswith("corpus:") and min(photo.size) >= 400)


def photo_copies(seed: int, index: int, group: str, base: Image.Image) -> list[tuple[str, bytes]]:
    """(transform, file) of the base ("original", PNG) and its copies."""
    rng = random.Random(f"{seed}:photo:{group}")
    copies = [("original", encode(base, "PNG"))]
    for name in photo_transforms_for(index):
        copies.append((name, _PHOTO_TRANSFORMS[name](base, rng)))
    return copies


# --- books ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookLayout:
    """What every page of one book shares."""

    language: str
    genre: str
    font: Path
    size: int  # body text, pixels at 150 dpi
    margin_x: int
    margin_y: int
    leading: float  # line pitch / font size
    running_head: str
    cream: bool  # paper tint of the scans: cream or grey


_INK, _PAPER = 25, 250


def book_layout(seed: int, book: int, fonts: Sequence[Path]) -> BookLayout:
    rng = random.Random(f"{seed}:book:{book}")
    language = LANGUAGES[book % len(LANGUAGES)]
    genre = GENRES[book % len(GENRES)]
    return BookLayout(
        language=language,
        genre=genre,
        font=fonts[book % len(fonts)],
        size=rng.randint(19, 24),
        margin_x=rng.randint(100, 150),
        margin_y=rng.randint(110, 150),
        leading=rng.uniform(1.3, 1.5),
        running_head=page_heading(genre, language, rng),
        cream=book % 2 == 0,
    )


def _book_lines(
    layout: BookLayout, rng: random.Random, font: ImageFont.FreeTypeFont, width: int
) -> Iterator[str]:
    """The book's text, line by line, an empty string between paragraphs."""
    while True:
        yield from wrap_words(paragraph(layout.genre, layout.language, rng), font, width)
        yield ""


def typeset_book(seed: int, book: int, layout: BookLayout, pages: int) -> list[Image.Image]:
    """``pages`` clean greyscale pages of consecutive text, with running head and folio."""
    rng = random.Random(f"{seed}:text:{book}")
    body = ImageFont.truetype(str(layout.font), layout.size)
    small = ImageFont.truetype(str(layout.font), round(layout.size * 0.8))
    width, height = PAGE_SIZE
    pitch = round(layout.size * layout.leading)
    lines = _book_lines(layout, rng, body, width - 2 * layout.margin_x)
    images = []
    for number in range(pages):
        image = Image.new("L", PAGE_SIZE, _PAPER)
        draw = ImageDraw.Draw(image)
        draw.text(
            (layout.margin_x, layout.margin_y - 2 * pitch),
            layout.running_head,
            font=small,
            fill=_INK,
        )
        draw.text(
            (width // 2, height - layout.margin_y + pitch),
            str(number + 1 + 10 * book),
            font=small,
            fill=_INK,
            anchor="mm",
        )
        y = layout.margin_y
        while y < height - layout.margin_y - layout.size:
            line = next(lines)
            if line:
                draw.text((layout.margin_x, y), line, font=body, fill=_INK)
            y += pitch if line else pitch // 2
        images.append(image)
    return images


@dataclass(frozen=True)
class PageScan:
    """A scanned page: its file, the skew it was scanned with and its scanner-bed border."""

    data: bytes
    angle: float  # degrees counter-clockwise
    border: tuple[int, int, int, int]  # dark pixels added left, top, right, bottom


def scan(page: Image.Image, cream: bool, rng: random.Random) -> PageScan:
    """A page as a scanner gives it: askew, toned paper, sensor noise, a JPEG."""
    angle = rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 2.5)
    tone = rng.uniform(0.88, 0.96)
    grey = Image.eval(skew(page, angle), lambda value: round(value * tone))
    grey = add_gaussian_noise(grey, rng.uniform(3.0, 7.0), rng)
    tint = (1.0, 0.96, 0.86) if cream else (1.0, 1.0, 1.0)
    pixels = np.asarray(grey, dtype=np.float32)[..., None] * np.array(tint, dtype=np.float32)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), mode="RGB")
    border = (0, 0, 0, 0)
    if rng.random() < 0.5:
        image, border = _on_scanner_bed(image, rng)
    return PageScan(jpeg(image, rng.randint(80, 92)), angle, border)


def _on_scanner_bed(
    image: Image.Image, rng: random.Random
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The page with the dark scanner lid or bed showing on one to four sides."""
    sides = [rng.choice((0, rng.randint(12, 40))) for _ in range(4)]
    left, top, right, bottom = max(sides[0], 12), sides[1], sides[2], sides[3]
    size = (image.width + left + right, image.height + top + bottom)
    bed = Image.new("RGB", size, (rng.randint(10, 45),) * 3)
    bed.paste(image, (left, top))
    return bed, (left, top, right, bottom)


# --- page transforms --------------------------------------------------------------------


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def binarise(image: Image.Image, method: str) -> Image.Image:
    """1-bit image, ink black: Otsu, a fixed scanner threshold, or Sauvola (uneven light)."""
    grey = _grey(image)
    if method == "otsu":
        paper = grey > threshold_otsu(grey)
    elif method == "scanner":
        paper = grey > 0.55 * float(np.percentile(grey, 90))
    else:
        paper = grey > threshold_sauvola(grey, window_size=25)
    return Image.fromarray(paper)


def _paper_colour(image: Image.Image) -> tuple[int, ...]:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return tuple(int(value) for value in np.median(pixels, axis=0))


def deskew(image: Image.Image, angle: float) -> Image.Image:
    rgb = image.convert("RGB")
    return rgb.rotate(-angle, resample=Image.Resampling.BICUBIC, fillcolor=_paper_colour(rgb))


def _without_border(image: Image.Image, border: tuple[int, int, int, int]) -> Image.Image:
    left, top, right, bottom = border
    return image.crop((left, top, image.width - right, image.height - bottom))


def text_block(image: Image.Image, margin: float = 0.015) -> Image.Image:
    """The bounding box of the ink, plus a small margin."""
    grey = _grey(image)
    ink = grey < threshold_otsu(grey)
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return image
    pad = round(margin * max(image.size))
    return image.crop(
        (
            max(0, columns[0] - pad),
            max(0, rows[0] - pad),
            min(image.width, columns[-1] + 1 + pad),
            min(image.height, rows[-1] + 1 + pad),
        )
    )


def _binarised_file(image: Image.Image, index: int, method: str) -> bytes:
    """Even pages: Group 4 TIFF (Otsu); odd pages: 1-bit PNG (scanner threshold)."""
    if index % 2 == 0:
        return encode(binarise(image, method), "TIFF", compression="group4")
    return encode(binarise(image, "scanner" if method == "otsu" else method), "PNG")


def book_page_copies(
    page_scan: PageScan, index: int, rng: random.Random
) -> list[tuple[str, bytes]]:
    """(transform, file) of a scanned book page and its derivatives."""
    image = decode(page_scan.data)
    page_only = _without_border(image, page_scan.border)
    levelled = deskew(page_only, page_scan.angle)
    return [
        ("original", page_scan.data),
        ("binarised", _binarised_file(image, index, "otsu")),
        ("deskewed", jpeg(deskew(image, page_scan.angle), rng.randint(85, 92))),
        ("text_block", jpeg(text_block(page_only), rng.randint(85, 92))),
        (
            "scantailor",
            encode(binarise(text_block(levelled), "otsu"), "TIFF", compression="group4"),
        ),
        *_common_page_copies(image, index, rng),
    ]


def _common_page_copies(
    image: Image.Image, index: int, rng: random.Random
) -> list[tuple[str, bytes]]:
    orientation = index % 7 + 2
    return [
        ("turn_90", jpeg(quarter_turn(image, 90), rng.randint(85, 92))),
        ("turn_180", jpeg(quarter_turn(image, 180), rng.randint(85, 92))),
        ("turn_270", jpeg(quarter_turn(image, 270), rng.randint(85, 92))),
        ("exif_orientation", exif_oriented_jpeg(image, orientation, rng.randint(85, 92))),
        ("downscale_50_jpeg", jpeg(_resize(image, 0.5), rng.randint(70, 85))),
        ("to_tiff", encode(image, "TIFF", compression="tiff_lzw")),
        ("to_png", encode(image, "PNG")),
    ]


PAGE_TRANSFORMS: tuple[str, ...] = (
    "binarised", "deskewed", "text_block", "scantailor", "turn_90", "turn_180", "turn_270",
    "exif_orientation", "downscale_50_jpeg", "to_tiff", "to_png",
)  # fmt: skip


def skimage_page_copies(name: str, index: int, seed: int) -> list[tuple[str, bytes]]:
    """scikit-image's page and text scans: no known skew, uneven light (Sauvola)."""
    image = Image.fromarray(getattr(skimage.data, name)())
    rng = random.Random(f"{seed}:skimage-page:{name}")
    return [
        ("original", encode(image, "PNG")),
        ("binarised", _binarised_file(image, index, "sauvola")),
        *_common_page_copies(image, index, rng),
    ]


# --- the dataset ------------------------------------------------------------------------


def quadrant_similarity(quadrants: Sequence[Image.Image]) -> int:
    """How alike a photograph's regions are: the least pHash distance (bits of 64) between
    two of its quadrants, one of them in any of the eight orientations. Low for pictures whose
    regions are near-turns of one another (a fundus image) or near-uniform (sky, a backdrop):
    the hardest distractors."""
    hashes = [oriented_hashes(quadrant) for quadrant in quadrants]
    return min(
        hamming_distance(first.phashes[orientation], second.phashes[0])
        for first, second in itertools.permutations(hashes, 2)
        for orientation in range(len(first.phashes))
    )


def split_families(families: dict[str, tuple[str, int, int]], seed: int) -> dict[str, str]:
    """family -> split, by family (kind, groups, hardness).

    Photographs cut into quadrants are ranked by ``quadrant_similarity`` (hardest first, ties
    by name) and taken two by two: a seeded coin sends one of each pair to each split, so both
    splits get distractors of every hardness. Other families, per kind: a seeded shuffle, then
    the biggest first, each to the split with fewer groups so far."""
    split = {}
    tiled = sorted(
        (name for name, (kind, _, _) in families.items() if kind == "photo-tiled"),
        key=lambda name: (families[name][2], name),
    )
    for start in range(0, len(tiled), 2):
        coin = random.Random(f"{seed}:split:tiled:{start}").random() < 0.5
        order = SPLITS if coin else SPLITS[::-1]
        for name, chosen in zip(tiled[start : start + 2], order, strict=False):
            split[name] = chosen
    for kind in sorted({kind for kind, _, _ in families.values()} - {"photo-tiled"}):
        members = sorted(
            name for name, (family_kind, _, _) in families.items() if family_kind == kind
        )
        random.Random(f"{seed}:split:{kind}").shuffle(members)
        members.sort(key=lambda name: -families[name][1])
        groups = dict.fromkeys(SPLITS, 0)
        counts = dict.fromkeys(SPLITS, 0)
        for name in members:
            chosen = min(SPLITS, key=lambda candidate: (groups[candidate], counts[candidate]))
            split[name] = chosen
            groups[chosen] += families[name][1]
            counts[chosen] += 1
    return split


def _page_items(
    seed: int, books: int, pages_per_book: int
) -> list[tuple[str, str, list[tuple[str, bytes]]]]:
    """(group, family, copies) of every book page and of scikit-image's page scans."""
    fonts = available_fonts()
    if not fonts:
        raise RuntimeError("no font to typeset book pages: install fonts-dejavu-core")
    items = []
    for book in range(books):
        layout = book_layout(seed, book, fonts)
        family = f"book{book:02d}"
        for number, page in enumerate(typeset_book(seed, book, layout, pages_per_book)):
            rng = random.Random(f"{seed}:scan:{book}:{number}")
            page_scan = scan(page, layout.cream, rng)
            index = book * pages_per_book + number
            items.append((f"{family}-p{number}", family, book_page_copies(page_scan, index, rng)))
    for index, name in enumerate(SKIMAGE_PAGES):
        items.append((f"skimage-{name}", f"skimage-{name}", skimage_page_copies(name, index, seed)))
    return items


def build_dataset(
    seed: int = 0,
    photos: Sequence[str] | None = None,
    books: int = BOOKS,
    pages_per_book: int = PAGES_PER_BOOK,
) -> list[BenchImage]:
    """Every image, deterministic for ``seed``; ``photos``/``books`` make a smaller set."""
    photo_items = [
        (group, family, whole, photo_copies(seed, index, group, base))
        for index, (group, family, whole, base) in enumerate(photo_bases(photos))
    ]
    page_items = [
        (group, family, True, copies)
        for group, family, copies in _page_items(seed, books, pages_per_book)
    ]
    sizes = Counter(family for _, family, _, _ in [*photo_items, *page_items])
    quadrants: dict[str, list[Image.Image]] = {}
    for _, family, whole, copies in photo_items:
        if not whole:
            quadrants.setdefault(family, []).append(decode(copies[0][1]))
    kinds: dict[str, tuple[str, int, int]] = {
        family: ("photo", sizes[family], 0) for _, family, _, _ in photo_items
    }
    for family, regions in quadrants.items():
        kinds[family] = ("photo-tiled", sizes[family], quadrant_similarity(regions))
    for _, family, _, _ in page_items:
        kind = "book" if family.startswith("book") else "page-scan"
        kinds[family] = (kind, sizes[family], 0)
    split = split_families(kinds, seed)
    return [
        BenchImage(
            f"{group}/{transform}", group, family, kind, whole, transform, split[family], data
        )
        for kind, items in (("photo", photo_items), ("page", page_items))
        for group, family, whole, copies in items
        for transform, data in copies
    ]


@dataclass(frozen=True)
class Labels:
    """Pair labels over the upper triangle: duplicate, and counted (labelled, same split)."""

    duplicate: np.ndarray  # bool (n, n): same group, i < j
    counted: np.ndarray  # bool (n, n): i < j, same split, not ambiguous

    @classmethod
    def of(cls, images: Sequence[BenchImage]) -> Labels:
        group = np.array([image.group for image in images])
        family = np.array([image.family for image in images])
        whole = np.array([image.whole for image in images])
        split = np.array([image.split for image in images])
        same_group = group[:, None] == group[None, :]
        # A whole photograph against a quadrant of itself: a detail is neither clearly a
        # duplicate nor clearly distinct. Two pages of one book are both whole: distinct.
        ambiguous = (family[:, None] == family[None, :]) & (whole[:, None] != whole[None, :])
        upper = np.triu(np.ones(same_group.shape, dtype=bool), k=1)
        counted = upper & ~ambiguous & (split[:, None] == split[None, :])
        return cls(duplicate=same_group & upper, counted=counted)


def duplicate_matrix(images: Sequence[BenchImage]) -> np.ndarray:
    return Labels.of(images).duplicate


def counted_matrix(images: Sequence[BenchImage]) -> np.ndarray:
    return Labels.of(images).counted


# --- command line -----------------------------------------------------------------------

_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp"}


def file_suffix(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as opened:
        return _SUFFIXES.get(opened.format or "", ".bin")


def write_dataset(images: Sequence[BenchImage], directory: Path) -> None:
    """Every image under DIR/<split>/, and DIR/labels.csv."""
    with (directory / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "name", "group", "family", "kind", "whole", "transform", "split"))
        for image in images:
            relative = Path(image.split) / (image.name.replace("/", "__") + file_suffix(image.data))
            (directory / relative).parent.mkdir(parents=True, exist_ok=True)
            (directory / relative).write_bytes(image.data)
            writer.writerow(
                (
                    relative.as_posix(),
                    image.name,
                    image.group,
                    image.family,
                    image.kind,
                    image.whole,
                    image.transform,
                    image.split,
                )
            )


def summary(images: Sequence[BenchImage]) -> str:
    labels = Labels.of(images)
    lines = [
        f"{len(images)} images in {len({image.group for image in images})} groups, "
        f"{len({image.family for image in images})} families; "
        f"{int((labels.duplicate & labels.counted).sum())} duplicate pairs of "
        f"{int(labels.counted.sum())} counted"
    ]
    for split in SPLITS:
        chosen = [image for image in images if image.split == split]
        by_kind = Counter(image.kind for image in chosen)
        groups = len({image.group for image in chosen})
        families = len({image.family for image in chosen})
        lines.append(
            f"{split}: {len(chosen)} images, {groups} groups, {families} families, "
            f"{dict(sorted(by_kind.items()))}"
        )
    counts = Counter((image.kind, image.transform, image.split) for image in images)
    lines.append(f"{'kind':<6} {'transform':<18} {'tuning':>6} {'test':>6}")
    for kind, transform in sorted({(kind, transform) for kind, transform, _ in counts}):
        lines.append(
            f"{kind:<6} {transform:<18} {counts[(kind, transform, 'tuning')]:>6} "
            f"{counts[(kind, transform, 'test')]:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, metavar="DIR", help="write the images and labels.csv")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    images = build_dataset(args.seed)
    built = time.perf_counter() - started
    print(summary(images))
    print(f"built in {built:.1f} s")
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        write_dataset(images, args.write)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
