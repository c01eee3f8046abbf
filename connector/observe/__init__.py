"""What ``leadsync run --http`` serves: Prometheus metrics, liveness and readiness.

- ``address``: where to listen (``HOST:PORT``; loopback unless written out);
- ``metrics``: the metrics, in a registry of leadsync's own, updated from each run's result and
  read afresh at each scrape (backlog, API budgets);
- ``health``: the scheduler's heartbeat, the state store's probe, readiness;
- ``server``: the HTTP listener (the standard library's threaded server);
- ``monitor``: ``Monitor``, what the daemon holds of all this.

The package itself imports only ``address`` (the config file's ``http.listen`` is parsed with
it on every command); the daemon imports ``leadsync.observe.monitor``.
"""

from __future__ import annotations

from leadsync.observe.address import DEFAULT_PORT, ListenAddress, parse_listen

__all__ = ["DEFAULT_PORT", "ListenAddress", "parse_listen"]
