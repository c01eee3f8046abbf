"""``leadsync backtest``: replay a playbook over the past, point in time, next to the current one."""
