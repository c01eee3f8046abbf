"""``leadsync.api`` is all an adapter imports: its exported names are pinned here, so that adding
or dropping one is a decision, not an accident."""

from __future__ import annotations

import leadsync.api as api
from leadsync.api import convertkit, mappingkit, writekit

SURFACE = {
    # the model and the protocol
    "BUILTIN_ACTIVITY_TYPES", "OPTIONAL_FIELDS", "STAGES", "WRITABLE_FIELDS", "Activity", "Contact", "Owner",
    "CrmAdapter", "Page", "Refused", "ContactChange", "WriteResult", "TaskRequest", "TaskResult",
    "CheckReport", "RefusalCause", "CheckNeeds",
    # errors
    "AuthError", "ConfigError", "CrmError", "Problem", "QuotaExhausted", "RateLimited",
    "RetryableError", "RulesError", "TransientError", "Unreachable", "RecordError",
    # waiting: the retry policy and the one clock
    "RetryPolicy", "with_retries", "network_error", "Clock", "SystemClock", "SYSTEM_CLOCK", "FakeClock",
    "as_clock",
    # metering
    "ApiBudget",
    # state and configuration
    "CursorCodec", "CursorError", "AdapterOptions", "ClockOption", "OptionSource", "option_problem",
    "parse_options", "load_yaml", "YamlSource", "YamlChecker", "Path_", "did_you_mean",
    # values, JSON bodies, TLS
    "parse_crm_ts", "record_ts", "domain_of", "employees_of", "JSON", "compact_json", "json_object",
    "response_object", "trust_ca",
}  # fmt: skip


def test_the_exported_names_are_the_surface() -> None:
    assert set(api.__all__) == SURFACE
    assert len(api.__all__) == len(SURFACE), "a name is exported twice"
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert not missing


def test_the_kits_are_submodules_with_their_own_surface() -> None:
    for kit in (mappingkit, convertkit, writekit):
        assert kit.__name__.startswith("leadsync.api.")
        assert all(hasattr(kit, name) for name in kit.__all__)
