"""The harnesses that run leadsync.testing's suites on each built-in adapter and its sandbox.

One module per CRM: an ``AdapterHarness`` (the adapter contract) and a ``SyncHarness`` (the sync
contract), plus the org set-ups the CRM's own sync tests share. They know the adapter and its
sandbox, so they live here and not in leadsync.testing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from leadsync.rules.loader import rules_from_source
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.testing import example_playbook

__all__ = ["reason_labels"]


@functools.cache
def reason_labels(playbook: str) -> Mapping[str, str]:
    """The CRM labels of the reason codes of one of leadsync's example playbooks (for ``setup``)."""
    return rules_from_source(
        load_yaml_text(example_playbook(playbook, [f"owner{i}" for i in range(50)]), "rules")
    ).reason_labels
