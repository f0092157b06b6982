"""Branding settings checked once at start-up: the accent colour must keep WCAG AA contrast."""

from __future__ import annotations

import re

from panel.config import Settings

# WCAG 2.x AA for normal text: links are accent text on the page, buttons white text on it.
AA_CONTRAST = 4.5
# What the accent meets in static/css/site.css: --paper (the page, and the buttons' white
# text) and --tint (pinned questions, the footer), the lighter and the darker background.
BACKGROUNDS = {
    "the page background #ffffff and white button text": "#ffffff",
    "the tinted panels #f5f3ef": "#f5f3ef",
}
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def normal_hex(colour: str) -> str:
    """A colour written "#ABC" or "#aabbcc", as "#aabbcc"; ValueError for anything else."""
    colour = colour.strip()
    if not HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"LIVEPANEL_ACCENT {colour!r} is not a hex colour such as #8a1c1c")
    digits = colour[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def luminance(colour: str) -> float:
    """WCAG relative luminance of a "#rrggbb" colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(one: str, other: str) -> float:
    """WCAG contrast ratio between two "#rrggbb" colours, from 1 to 21."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def accent_problem(accent: str) -> str | None:
    """Why this accent cannot be used (one line naming it and its contrast), or None."""
    try:
        colour = normal_hex(accent)
    except ValueError as exc:
        return str(exc)
    against, ratio = min(
        ((name, contrast_ratio(colour, bg)) for name, bg in BACKGROUNDS.items()),
        key=lambda pair: pair[1],
    )
    if ratio >= AA_CONTRAST:
        return None
    return (
        f"LIVEPANEL_ACCENT {colour} has a contrast ratio of {ratio:.2f}:1 against {against}; "
        f"WCAG AA needs {AA_CONTRAST}:1, so choose a darker colour"
    )


def branding_problem(settings: Settings) -> str | None:
    """The first branding setting that cannot be used, as one line, or None."""
    if not settings.site_name.strip():
        return "LIVEPANEL_SITE_NAME must not be empty"
    logo = settings.logo_url
    on_site = logo.startswith("/") and not logo.startswith("//")
    if logo and not (on_site or logo.startswith(("https://", "http://"))):
        return f"LIVEPANEL_LOGO_URL {logo!r} must be a path on this site or an http(s) URL"
    return accent_problem(settings.accent)


def check_branding(settings: Settings) -> None:
    """Refuse settings whose branding would break the pages (ValueError with one line)."""
    problem = branding_problem(settings)
    if problem:
        raise ValueError(problem)
