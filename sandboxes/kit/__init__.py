"""What every local CRM sandbox shares: the threaded HTTP server (HTTP and HTTPS on one port),
fault injection, request counts, a movable clock, and realistic people and companies to seed.

Each sandbox (``leadsync.sandboxes.hubspot``, ``.salesforce``, ``.zoho``) keeps its API, its rules
and its error bodies; this package knows nothing about any CRM.
"""
