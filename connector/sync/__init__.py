"""The sync daemon: read → decide → write → checkpoint, with durable state and one retry policy."""
