"""``python -m leadsync.sandboxes.hubspot``: serve the sandbox until interrupted."""

from leadsync.sandboxes.hubspot.sandbox import main

main()
