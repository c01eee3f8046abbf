"""A local Zoho CRM org for tests, demos and benchmarks (not the adapter: ``leadsync.adapters.zoho``)."""
