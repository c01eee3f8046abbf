"""The Salesforce adapter: Leads and Contacts through the REST API (simple-salesforce)."""
