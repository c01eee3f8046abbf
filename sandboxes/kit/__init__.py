"""What every local CRM sandbox shares, written once: the threaded HTTP server (HTTP and HTTPS on
one port, ``server``), the request pipeline around each CRM's own checks (``pipeline``), routes and
the ``Call`` a handler gets (``routing``), the ``/__sandbox`` back door (``control``), serving,
seeding, resetting and the command line (``sandbox``), the demo wiring behind ``leadsync demo``
(``demo``), the months of history a demo's report shows (``history``), fault injection, request
counts, a movable clock, rolling limit windows, and realistic people and companies to seed.

Each sandbox (``leadsync.sandboxes.hubspot``, ``.salesforce``, ``.zoho``) keeps its API, its rules
and its error bodies; this package knows nothing about any CRM.
"""
