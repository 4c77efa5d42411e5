"""Product pictures drawn inline, so that the demo needs no image files, uploads or CDN."""

from __future__ import annotations

import zlib
from functools import lru_cache

from django.utils.html import format_html
from django.utils.safestring import SafeString


def category_hue(slug: str) -> int:
    """A stable hue per category: every product of a category shares a colour family."""
    return zlib.crc32(slug.encode()) % 360


@lru_cache(maxsize=8192)
def product_svg(title: str, category_slug: str, *, size: int = 240) -> SafeString:
    """A square SVG with the category's colour and the title's initials. Kept per title,
    category and size: every product card draws one, and a page shows dozens."""
    hue = category_hue(category_slug)
    initials = "".join(word[0] for word in title.split()[:2] if word[:1].isalnum()).upper() or "?"
    return format_html(
        '<svg class="product-image" viewBox="0 0 {s} {s}" width="{s}" height="{s}" role="img" '
        'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        '<rect width="{s}" height="{s}" fill="hsl({h},55%,88%)"/>'
        '<circle cx="{c}" cy="{c}" r="{r}" fill="hsl({h},45%,70%)"/>'
        '<text x="50%" y="50%" dy=".35em" text-anchor="middle" font-family="system-ui,sans-serif" '
        'font-size="{f}" font-weight="700" fill="hsl({h},40%,28%)">{initials}</text></svg>',
        s=size,
        c=size // 2,
        r=size * 3 // 10,
        f=size // 5,
        h=hue,
        label=title,
        initials=initials,
    )
