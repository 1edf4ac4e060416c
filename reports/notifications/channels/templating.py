"""Templates that admins write (gateway URLs and bodies): rendered in Jinja's sandbox with only the names given,
so that a template cannot reach attributes, modules or settings outside its context."""

from __future__ import annotations

from functools import cache

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

SAMPLE = {"to": "+84905000000", "text": "Phản ánh ABC đã được tiếp nhận", "segment": 1, "segments": 1,
          "message_id": "1-0", "subject": "Test", "kind": "report_filed"}


class TemplateRefused(ValueError):
    """A template that does not render in the sandbox (unknown names, attribute access, syntax)."""


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render(source: str, context: dict) -> str:
    try:
        return _environment().from_string(source).render(**context)
    except (TemplateError, TypeError, ValueError, OverflowError) as exc:  # SecurityError is a TemplateError
        raise TemplateRefused(f"{type(exc).__name__}: {exc}") from None


def check(source: str, name: str) -> None:
    """Refuse a template that fails on the sample context; the worker checks them all before it starts."""
    try:
        render(source, SAMPLE)
    except TemplateRefused as exc:
        raise TemplateRefused(f"{name}: {exc}") from None
