"""How numbers and dates are written for a reader, per language, outside a request too (PDF and XLSX exports).

One way to write a day per language everywhere: pages (gisserver.core.i18n), popups (static/js/gis-common.js)
and exports: 04/12/2026 in Vietnamese, 12/04/2026 in English; times on the 24-hour clock.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

DEFAULT_LANGUAGE = "vi"
CITY_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "MM/dd/yyyy"}
TIME_PATTERN = "HH:mm"
# The same days in spreadsheet number formats (Excel and LibreOffice codes).
XLSX_DATE_FORMATS = {"vi": "dd/mm/yyyy", "en": "mm/dd/yyyy"}
XLSX_MONTH_FORMATS = {"vi": "mm/yyyy", "en": "mm/yyyy"}


def date_pattern(language: str) -> str:
    return DATE_PATTERNS.get(language, DATE_PATTERNS[DEFAULT_LANGUAGE])


def day_text(value: date | str | None, language: str) -> str:
    """A calendar day ("2026-12-04" or a date) as the reader writes it."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.astimezone(CITY_TIMEZONE).date() if value.tzinfo else value.date()
    return format_date(value, date_pattern(language), locale=language)


def moment_text(value: datetime | str | None, language: str) -> str:
    """A moment in the city's time zone: 04/12/2026 16:05."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(value, f"{date_pattern(language)} {TIME_PATTERN}", tzinfo=CITY_TIMEZONE, locale=language)


def number_text(value: float | int | None, language: str, digits: int = 0, *, grouped: bool = True) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English; *grouped* False for years and codes (2027, not 2.027)."""
    if value is None:
        return ""
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=pattern, locale=language)


def percent_text(value: float | None, language: str, digits: int = 1) -> str:
    """A share (0.838) as the reader writes it: 83,8% in Vietnamese, 83.8% in English."""
    if value is None:
        return ""
    return number_text(value * 100, language, digits) + "%"


def local_naive(value: datetime | str | None) -> datetime | None:
    """A moment as the city's wall-clock time without a zone (spreadsheets have none)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(CITY_TIMEZONE).replace(tzinfo=None) if value.tzinfo else value
