"""Both backends for the state tests here, as tests/sync has them (``store``, ``store_url``)."""

from tests.sync.conftest import store, store_url

__all__ = ["store", "store_url"]
