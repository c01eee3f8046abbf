from tests.logs.support import json_log

__all__ = ["json_log"]
