"""The revenue contract as pure functions: rules file, conditions, and the decision procedure."""
