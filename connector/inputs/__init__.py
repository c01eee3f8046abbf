"""What ``leadsync evaluate`` reads, fast and in bounded memory.

``activities``: JSON Lines decoded in chunks straight into ``Activity`` structs (msgspec), each
chunk that holds anything unusual read again line by line by ``leadsync.jsonl``'s careful parsers,
so every accepted line and every FILE:LINE message is the same either way; ``contacts``: the
same for contacts. ``spill``: records partitioned by contact into temporary files when the input
is larger than the memory budget.
"""
