"""``python -m leadsync.sandboxes.salesforce``: serve the sandbox until interrupted."""

from leadsync.sandboxes.salesforce.sandbox import main

main()
