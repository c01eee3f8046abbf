"""The demo wiring: what a sandbox's ``leadsync.sandboxes`` entry point gives ``leadsync demo``.

The entry point is called as ``demo(contacts=300, seed=7)`` and used as a context manager: while
it is open a seeded sandbox runs, and it yields a ``Demo`` — which adapter to connect, with which
options (``token`` among them, which the demo moves to the environment), a line describing the
sandbox, the active owners the playbook's pools get, the playbook that suits the sandbox's data,
the sandbox itself, and ``history``: what writes the sandbox's months of past handoffs, touches and
outcomes (``leadsync.sandboxes.kit.history``) into fields that ``leadsync setup`` creates, so the
demo calls it after setup (a sandbox that takes any field seeds its past at once and has none).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, NotRequired, TypedDict, TypeVar

from leadsync.sandboxes.kit.server import Serving

__all__ = ["Demo", "demo_entry_point"]

S = TypeVar("S", bound=Serving)


class Demo(TypedDict):
    adapter: str
    options: dict[str, Any]
    describe: str
    owners: list[str]
    playbook: NotRequired[str]  # leadsync demo's default one when absent
    sandbox: NotRequired[Any]
    history: NotRequired[Callable[[], None]]  # called once, after `leadsync setup`


def demo_entry_point(
    make: Callable[[int, int], S], wiring: Callable[[S, int], Demo]
) -> Callable[..., contextlib.AbstractContextManager[Demo]]:
    """``demo(contacts, seed)``: ``make(contacts, seed)`` started, ``wiring`` what it yields."""

    @contextlib.contextmanager
    def demo(contacts: int = 300, seed: int = 7) -> Iterator[Demo]:
        with make(contacts, seed) as sb:
            yield {**wiring(sb, contacts), "sandbox": sb}

    return demo
