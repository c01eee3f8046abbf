"""A database error never prints contact data (issue 13): SQLAlchemy puts a failed statement's
parameters (a contact's e-mail, its record) into the exception's text, which ends up in the log's
traceback on a full disk, a deadlock or a lost connection. The state store's engines hide them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from leadsync.sync.database import engine


def test_a_failed_statement_does_not_carry_its_parameters(store_url: str) -> None:
    db = engine(store_url)
    try:
        with pytest.raises((DBAPIError, StatementError)) as raised, db.begin() as conn:
            conn.execute(
                text("INSERT INTO no_such_table (email, record) VALUES (:email, :record)"),
                {"email": "jane.doe@example.com", "record": '{"firstname": "Jane"}'},
            )
    finally:
        db.dispose()
    message = str(raised.value)
    assert "no_such_table" in message  # the statement still says what failed
    assert "jane.doe@example.com" not in message
    assert "Jane" not in message
