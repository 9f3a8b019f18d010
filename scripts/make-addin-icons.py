"""Draw the add-in's icons into addin-manifest/icons/ (run by hand; the PNGs are committed).

    .venv/bin/python scripts/make-addin-icons.py

A camera glyph on a rounded square, drawn at eight times the size and scaled down (Pillow's
Lanczos filter) so small sizes stay crisp. Sizes: what the XML manifest's command icons ask for
(16/32/80), its IconUrl/HighResolutionIconUrl (64/128), the mobile button's 25/32/48 in the
grey Microsoft asks for (#919191, docs/outlook/online-meeting.md), and the unified manifest's
192 px colour icon and 32 px white-on-transparent outline.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "addin-manifest" / "icons"
BLUE, WHITE, GREY = (43, 108, 176, 255), (255, 255, 255, 255), (145, 145, 145, 255)
SCALE = 8


def glyph(size: int, *, tile: tuple[int, ...] | None, ink: tuple[int, ...]) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if tile is not None:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=tile)
    # camera body and lens, in the middle three fifths
    u = big / 20
    draw.rounded_rectangle((3 * u, 6.5 * u, 13 * u, 13.5 * u), radius=1.4 * u, fill=ink)
    draw.polygon([(13.6 * u, 10 * u), (17 * u, 7 * u), (17 * u, 13 * u)], fill=ink)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (16, 32, 64, 80, 128, 192):
        glyph(size, tile=BLUE, ink=WHITE).save(OUT / f"icon-{size}.png", optimize=True)
    for size in (25, 32, 48):
        glyph(size, tile=None, ink=GREY).save(OUT / f"mobile-{size}.png", optimize=True)
    glyph(32, tile=None, ink=WHITE).save(OUT / "outline-32.png", optimize=True)
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
