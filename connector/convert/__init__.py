"""``leadsync convert``: a CSV export (a CRM's or a spreadsheet's) to canonical JSON Lines."""
