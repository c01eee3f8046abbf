"""``python -m leadsync.sandboxes.notify``: serve the four notification receivers until interrupted."""

from leadsync.sandboxes.notify.all import main

main()
