"""``python -m leadsync.sandboxes.zoho``: serve the sandbox until interrupted."""

from leadsync.sandboxes.zoho.sandbox import main

main()
