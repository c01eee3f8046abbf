"""Local fakes of the CRMs' APIs (HubSpot, Salesforce, Zoho CRM) for tests, demos and benchmarks.

Each speaks its CRM's real protocol and errors on 127.0.0.1; ``kit`` holds what they share. A
sandbox never imports an adapter: the adapters are tested against them, not built with them.
"""
