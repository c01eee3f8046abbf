"""``leadsync history CONTACT_ID``: one contact's decision history, from the state store."""

from __future__ import annotations

from pathlib import Path

import click

from leadsync.commands import _CONFIG, _CONNECTION, _fail, _settings, _store
from leadsync.errors import InputError
from leadsync.sync.timeline import load_timeline

__all__ = ["history_command"]


@click.command("history")
@click.argument("contact_id")
@_CONFIG
@_CONNECTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def history_command(contact_id: str, config_path: Path, connection: str | None, fmt: str) -> None:
    """One contact's decision history: what leadsync changed, when and why (reads the state only).

    When it became an MQL and on which points, who it was routed to and why, when its SLA was met
    or breached, when and why it was recycled or disqualified. An id the state store does not
    know exits with status 2.
    """
    settings = _settings(config_path)
    try:
        conn = settings.connection(connection)
        store = _store(settings, read_only=True)
        timeline = load_timeline(store, conn.name, contact_id, settings.history_days)
        store.close()
    except InputError as error:
        _fail(error)
    click.echo(timeline.to_json() if fmt == "json" else timeline.to_text())
