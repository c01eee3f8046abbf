"""CRM adapter plugins (HubSpot, Salesforce, Zoho). Each imports ``leadsync.api`` only (CI checks it)."""
