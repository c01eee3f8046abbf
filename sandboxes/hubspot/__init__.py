"""A local HubSpot portal for tests, demos and benchmarks (not the adapter: ``leadsync.adapters.hubspot``)."""
