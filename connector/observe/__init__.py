"""What ``leadsync run --http`` serves: Prometheus metrics, liveness and readiness, the live report.

- ``address``: where to listen (``HOST:PORT``; loopback unless written out);
- ``access``: the config's ``http:`` and its token, required beyond loopback;
- ``dashboard``: ``/report`` and ``/report.json`` from the state store, kept a while
  (``reportcache``);
- ``metrics``: the metrics, in a registry of leadsync's own, updated from each run's result and
  read afresh at each scrape (backlog, API budgets);
- ``health``: the scheduler's heartbeat, the state store's probe, readiness;
- ``server``: the HTTP listener (the standard library's threaded server);
- ``monitor``: ``Monitor``, what the daemon holds of all this.

The package itself imports only ``address``; ``leadsync.settings`` imports ``access`` (the config
file's ``http:`` is checked on every command); the daemon imports ``leadsync.observe.monitor``,
and ``dashboard`` (with the report) only when it listens.
"""

from __future__ import annotations

from leadsync.observe.address import DEFAULT_PORT, ListenAddress, parse_listen

__all__ = ["DEFAULT_PORT", "ListenAddress", "parse_listen"]
