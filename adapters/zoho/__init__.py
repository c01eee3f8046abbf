"""leadsync's adapter for Zoho CRM (REST API v8, plain requests)."""
