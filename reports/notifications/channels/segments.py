"""Cutting a text message into SMS segments: 160 GSM-7 characters (153 each when there are several) or, when any
character is outside GSM-7 (Vietnamese almost always is), 70 UCS-2 code units (67 each). Cuts fall on spaces
where possible and never inside a character: not between a letter and its combining tone mark, not inside a
surrogate pair."""

from __future__ import annotations

import unicodedata

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # two septets each (escape + character)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def _units(cluster: str, gsm: bool) -> int:
    if gsm:
        return sum(2 if c in GSM7_EXTENDED else 1 for c in cluster)
    return sum(2 if ord(c) > 0xFFFF else 1 for c in cluster)  # UTF-16 code units


def _clusters(text: str) -> list[str]:
    """Characters with their combining marks attached: the smallest pieces a cut may separate."""
    out: list[str] = []
    for c in text:
        if out and unicodedata.combining(c):
            out[-1] += c
        else:
            out.append(c)
    return out


def split(text: str) -> list[str]:
    """The segments of *text* (composed to NFC first: most Vietnamese letters then take one code unit)."""
    text = unicodedata.normalize("NFC", text)
    gsm = is_gsm7(text)
    single, multi = (160, 153) if gsm else (70, 67)
    clusters = _clusters(text)
    if sum(_units(c, gsm) for c in clusters) <= single:
        return [text] if text else []
    segments: list[str] = []
    current: list[str] = []
    size = 0
    for cluster in clusters:
        units = _units(cluster, gsm)
        if size + units > multi:
            # Break at the last space of the segment when there is one in its second half.
            cut = next((i for i in range(len(current) - 1, len(current) // 2, -1) if current[i] == " "), None)
            if cut is not None:
                segments.append("".join(current[:cut + 1]))
                current = current[cut + 1:]
            else:
                segments.append("".join(current))
                current = []
            size = sum(_units(c, gsm) for c in current)
        current.append(cluster)
        size += units
    if current:
        segments.append("".join(current))
    return segments
