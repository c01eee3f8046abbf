"""leadsync core: canonical model, rules engine and CLI. Never imports an adapter."""

__version__ = "0.1.0"
