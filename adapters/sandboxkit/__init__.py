"""What every local CRM sandbox shares: the threaded HTTP server (HTTP and HTTPS on one port),
fault injection, request counts, a movable clock, and realistic people and companies to seed.

Each sandbox (``adapters.hubspot.sandbox``, ``adapters.salesforce.sandbox``) keeps its API, its
rules and its error bodies; this package knows nothing about any CRM.
"""
