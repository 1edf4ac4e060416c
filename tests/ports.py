"""Free ports of 127.0.0.1 for the servers and clusters the tests start."""

from __future__ import annotations

import random
import socket
from collections.abc import Sequence


def free_port(preferred: Sequence[int] = (), taken: set[int] | None = None) -> int:
    """A free port, from *preferred* when one there is free (the ranges this project's helpers keep for it), else
    any the system gives; it is added to *taken*, which the caller's earlier picks are kept out of.

    The preferred ports are tried in random order: suites running at once on the machine would otherwise all pick
    the range's first free port, and the slower one find it taken by the other's (the check and the start are not
    atomic)."""
    taken = set() if taken is None else taken
    for port in [*random.sample(list(preferred), len(preferred)), 0]:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen = s.getsockname()[1]
        taken.add(chosen)
        return chosen
    raise AssertionError("no free port")
