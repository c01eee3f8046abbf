"""A toy fourth adapter, built and tested as a third-party package would be.

``fake`` is a small CRM's API on 127.0.0.1; ``adapter`` its leadsync adapter, which imports
``leadsync.api`` only; ``harness`` the two harnesses leadsync.testing's suites need; conftest.py
installs the toy's distribution metadata (its ``leadsync.adapters`` entry point) for the session;
test_toy.py runs both suites through leadsync.testing.
"""
