"""CRM adapter plugins (HubSpot, Salesforce, Zoho). Each imports ``connector.api`` only."""
