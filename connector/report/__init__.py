"""``leadsync report`` (CONTRACT §6): the weekly smarketing review in numbers.

``ReportBuilder`` counts decided contacts one at a time (``tally``); ``window`` holds the dates,
months and ISO weeks, ``arith`` the rates and percentiles, ``firsttouch`` the SLA of a handoff;
``inputs`` reads records (files or the state store) and has them decided; ``tables``, ``output``
and ``text`` write the formats; ``command`` is the command line's body.
"""

from __future__ import annotations

from leadsync.report.tally import ReportBuilder
from leadsync.report.window import Window, make_window

__all__ = ["ReportBuilder", "Window", "make_window"]
