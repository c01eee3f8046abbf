"""The rules file's `actions:` compiled (CONTRACT §3, and §8 for the notification triggers).

A trigger is a stage (`stage_mql`, `stage_sql`), routing (`assigned`), the SLA (`sla_due_soon`
with `before`, `sla_breached`, `sla_exhausted`) or an activity type. `notify` names one recipient or
a list: `owner`, `channel:NAME`, `team:NAME`; a bare name other than `owner` (v1's `notify: sales`)
means `team:NAME`. `where` is a condition on the decided contact, except on an activity trigger,
where it tests the triggering activity (as leadsync has always read it: a v1 file keeps its meaning).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from leadsync.model import CONTACT_FIELDS
from leadsync.rules import rulesfile
from leadsync.rules.compiled import ActionRule
from leadsync.rules.conditions import ConditionCompiler, did_you_mean
from leadsync.rules.yamlsource import Path_

__all__ = ["CONTACT_TRIGGERS", "SLA_TRIGGERS", "STAGE_TRIGGERS", "compile_actions", "recipients"]

STAGE_TRIGGERS = ("stage_mql", "stage_sql")
SLA_TRIGGERS = ("sla_due_soon", "sla_breached", "sla_exhausted")
CONTACT_TRIGGERS = (*STAGE_TRIGGERS, "assigned", *SLA_TRIGGERS)  # not about one activity
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# The fields the decision sets, besides the contact's own (CONTRACT §8: `where` sees the decided contact).
_DECIDED_FIELDS = (*CONTACT_FIELDS, "owner_id", "disqualification_reason")


class _Loader(Protocol):
    """What the rules loader lends this module."""

    conditions: ConditionCompiler
    contact_types: set[str]
    sales_types: set[str]
    model: rulesfile.RulesFile

    def bad(self, path: Path_, message: str) -> None: ...

    def _duration(self, text: str, path: Path_) -> tuple[int, str] | None: ...


def compile_actions(loader: _Loader) -> tuple[ActionRule, ...]:
    """Every action of the file, checked; problems go to ``loader.bad`` as FILE:LINE."""
    return tuple(_action(loader, action, ("actions", i)) for i, action in enumerate(loader.model.actions))


def _action(loader: _Loader, action: rulesfile.Action, path: Path_) -> ActionRule:
    trigger = action.trigger
    activity_type = None
    if trigger not in CONTACT_TRIGGERS:
        known = sorted(loader.contact_types | loader.sales_types)
        if trigger not in known:
            loader.bad(
                (*path, "trigger"),
                f"unknown trigger `{trigger}`{did_you_mean(trigger, [*CONTACT_TRIGGERS, *known])}; use"
                f" {', '.join(CONTACT_TRIGGERS)} or an activity type",
            )
        activity_type = trigger
    where = if_contact = None
    if action.where is not None:
        if activity_type is not None:
            where = loader.conditions.activity(action.where, (*path, "where"))
        else:
            _check_fields(loader, action.where, (*path, "where"))
            if_contact = loader.conditions.contact(action.where, (*path, "where"))
    before = None
    if trigger == "sla_due_soon":
        if action.before is None:
            loader.bad(path, "`sla_due_soon` needs `before: DURATION`, e.g. `before: 30m` (due in 30 min)")
        else:
            before = loader._duration(action.before, (*path, "before"))
        if not (loader.model.sla and loader.model.sla.first_touch_within):
            loader.bad((*path, "trigger"), "`sla_due_soon` needs `sla.first_touch_within` (a due time)")
    elif action.before is not None:
        loader.bad((*path, "before"), f"`before` only applies to `sla_due_soon`, not `{trigger}`; delete it")
    if (action.task is None) == (action.notify is None):
        loader.bad(path, "an action needs exactly one of `task` or `notify`")
    due_in = None
    if action.task is not None and action.task.due_in.strip() != "sla":
        due_in = loader._duration(action.task.due_in, (*path, "task", "due_in"))
    elif action.task is not None and not (loader.model.sla and loader.model.sla.first_touch_within):
        loader.bad((*path, "task", "due_in"), "`due_in: sla` needs `sla.first_touch_within`")
    notify = None if action.notify is None else recipients(loader, action.notify, (*path, "notify"))
    return ActionRule(
        trigger=trigger,
        activity_type=activity_type,
        where=where,
        task_title=action.task.title if action.task else None,
        due_in=due_in,
        notify=notify,
        if_contact=if_contact,
        before=before,
    )


def recipients(loader: _Loader, value: str | Sequence[str], path: Path_) -> tuple[str, ...]:
    """``notify``'s recipients in the order written, each as `owner`, `channel:N` or `team:N`."""
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        loader.bad(path, "`notify` names nobody; write `owner`, `channel:NAME` or `team:NAME`")
    out: list[str] = []
    for i, item in enumerate(items):
        where = path if isinstance(value, str) else (*path, i)
        text = item.strip()
        kind, sep, name = text.partition(":")
        if text == "owner":
            out.append("owner")
        elif not sep and _NAME.match(text):
            out.append(f"team:{text}")  # v1: `notify: sales` is the team `sales`
        elif sep and kind in ("channel", "team") and _NAME.match(name):
            out.append(f"{kind}:{name}")
        elif sep and kind in ("channel", "team"):
            example = f"`{kind}:sales-leads`"
            loader.bad(where, f"`{text}`: a {kind} name is letters, digits, `_`, `.` or `-`, e.g. {example}")
        else:
            hint = did_you_mean(kind, ["owner", "channel", "team"]) if sep else ""
            loader.bad(
                where,
                f"unknown recipient `{text}`{hint}; write `owner`, `channel:NAME` (a channel of the"
                " deployment's config) or `team:NAME` (the owners whose `teams` has NAME)",
            )
    return tuple(out)


def _check_fields(loader: _Loader, cond: Any, path: Path_) -> None:
    """A field named like a decided field but misspelt (`socre`) is refused with the right name.

    Any other name is a key of the contact's `properties` (CONTRACT §3), so it cannot be refused.
    """
    if isinstance(cond, dict):
        name = cond.get("field")
        if isinstance(name, str) and name not in _DECIDED_FIELDS:
            hint = did_you_mean(name, _DECIDED_FIELDS)
            if hint:
                loader.bad((*path, "field"), f"unknown field `{name}`{hint} (a property? rename it)")
        for key in ("all", "any"):
            parts = cond.get(key)
            if isinstance(parts, list):
                for i, part in enumerate(parts):
                    _check_fields(loader, part, (*path, key, i))
        if "not" in cond:
            _check_fields(loader, cond["not"], (*path, "not"))
