"""The Salesforce adapter cross-checked against simple-mockforce (its own environment: see conftest)."""
