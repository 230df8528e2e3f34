"""Draw the app icons (static/icons/*.png) with Pillow: python service_worker/make_icons.py.

A white road bending between two stops on the brand teal. The maskable versions keep the
drawing inside the central 80 % safe zone and fill the whole square.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

TEAL = (11, 93, 88, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"


def draw(size: int, *, maskable: bool) -> Image.Image:
    """Return one icon of ``size`` pixels."""
    scale = 4  # draw large, then shrink: smooth edges without antialiasing support
    big = size * scale
    image = Image.new("RGBA", (big, big), TEAL if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if not maskable:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=TEAL)
    inset = 0.2 if maskable else 0.12  # maskable: keep inside the 80 % safe circle
    lo, hi = big * (inset + 0.08), big * (1 - inset - 0.08)
    mid = big / 2
    width = max(1, int(big * 0.07))
    road = [(lo, hi), (lo + (mid - lo) * 0.3, mid + big * 0.05), (mid, mid), (hi - (hi - mid) * 0.3,
            mid - big * 0.05), (hi, lo)]
    pen.line(road, fill=WHITE, width=width, joint="curve")
    radius = big * 0.075
    for x, y in (road[0], road[-1]):
        pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=WHITE)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    """Write the four icons of the manifest."""
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        draw(size, maskable=True).save(OUT / f"icon-{size}-maskable.png", optimize=True)


if __name__ == "__main__":
    main()
