"""A local Salesforce org for tests, demos, benchmarks (the adapter is ``leadsync.adapters.salesforce``)."""
