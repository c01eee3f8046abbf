"""All an adapter imports: the model, the ``CrmAdapter`` protocol, errors, and what adapters share.

An adapter turns one CRM's API into canonical records and back. It never decides anything: the
core reads through it, decides with the rules engine, and writes through it. Built-in adapters
register under the ``leadsync.adapters`` entry-point group exactly as third-party ones do (see
``leadsync.registry``), and import nothing of leadsync but this package (CI checks it with
import-linter). What is here, by theme:

- the canonical model and the protocol: ``Contact``, ``Activity``, ``Owner``, ``CrmAdapter``,
  ``Page``, ``ContactChange``, ``WriteResult``, ``TaskRequest``, ``TaskResult``, ``CheckReport``,
  and ``RefusalCause`` (a refusal the CRM's setup caused: the loop stops the run, keeps it due);
- errors (``CrmError`` and its tree, ``ConfigError`` with ``Problem``s as ``FILE:LINE``);
- waiting: the one retry policy (``RetryPolicy``, ``with_retries``; ``network_error`` tells a
  CRM that cannot be reached from one that dropped a call) and the one clock
  (``Clock``; ``SYSTEM_CLOCK``; ``FakeClock`` for tests), shared by the policy and rate limiters;
- state: ``CursorCodec``, versioned cursors;
- metering: ``ApiBudget``, what an adapter's optional ``api_budget()`` says of the CRM's API
  allowance (the daemon's metrics show it);
- configuration: ``AdapterOptions`` and ``parse_options`` (options declared as a pydantic model,
  problems at their config-file line), and what mapping files are validated with (``load_yaml``,
  ``YamlSource``, ``YamlChecker``, ``did_you_mean``);
- values: ``parse_crm_ts``, ``record_ts`` (a ``RecordError`` for a timestamp leadsync cannot
  compute with: the record is refused alone, ``Page.refused``), ``domain_of``, ``employees_of``;
  JSON bodies (``json_object``, ``response_object``, ``compact_json``); TLS trust for a private
  CA (``trust_ca``).

The kits adapters share are submodules, named by the adapters that use them:
``leadsync.api.mappingkit`` (field and stage maps, the mapping-file checker),
``leadsync.api.convertkit`` (a CRM record → a canonical contact, a change → CRM fields) and
``leadsync.api.writekit`` (merging changes, sending chunks until the CRM is down, task due dates).
"""

from __future__ import annotations

from leadsync.api._budget import ApiBudget
from leadsync.api._clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock, as_clock
from leadsync.api._cursor import CursorCodec, CursorError
from leadsync.api._json import JSON, compact_json, json_object, response_object
from leadsync.api._options import AdapterOptions, ClockOption, OptionSource, option_problem, parse_options
from leadsync.api._protocol import (
    OPTIONAL_FIELDS,
    WRITABLE_FIELDS,
    CheckNeeds,
    CheckReport,
    ContactChange,
    CrmAdapter,
    Page,
    RefusalCause,
    Refused,
    TaskRequest,
    TaskResult,
    WriteResult,
)
from leadsync.api._retry import RetryPolicy, network_error, with_retries
from leadsync.api._values import domain_of, employees_of, parse_crm_ts, record_ts
from leadsync.errors import (
    AuthError,
    ConfigError,
    CrmError,
    Problem,
    QuotaExhausted,
    RateLimited,
    RecordError,
    RetryableError,
    RulesError,
    TransientError,
    Unreachable,
)
from leadsync.model import BUILTIN_ACTIVITY_TYPES, STAGES, Activity, Contact, Owner
from leadsync.rules.checker import YamlChecker
from leadsync.rules.conditions import did_you_mean
from leadsync.rules.yamlsource import Path_, YamlSource, load_yaml
from leadsync.tls import trust_ca

__all__ = [
    "BUILTIN_ACTIVITY_TYPES",
    "JSON",
    "OPTIONAL_FIELDS",
    "STAGES",
    "SYSTEM_CLOCK",
    "WRITABLE_FIELDS",
    "Activity",
    "AdapterOptions",
    "ApiBudget",
    "AuthError",
    "CheckNeeds",
    "CheckReport",
    "Clock",
    "ClockOption",
    "ConfigError",
    "Contact",
    "ContactChange",
    "CrmAdapter",
    "CrmError",
    "CursorCodec",
    "CursorError",
    "FakeClock",
    "OptionSource",
    "Owner",
    "Page",
    "Path_",
    "Problem",
    "QuotaExhausted",
    "RateLimited",
    "RecordError",
    "RefusalCause",
    "Refused",
    "RetryPolicy",
    "RetryableError",
    "RulesError",
    "SystemClock",
    "TaskRequest",
    "TaskResult",
    "TransientError",
    "Unreachable",
    "WriteResult",
    "YamlChecker",
    "YamlSource",
    "as_clock",
    "compact_json",
    "did_you_mean",
    "domain_of",
    "employees_of",
    "json_object",
    "load_yaml",
    "network_error",
    "option_problem",
    "parse_crm_ts",
    "parse_options",
    "record_ts",
    "response_object",
    "trust_ca",
    "with_retries",
]
