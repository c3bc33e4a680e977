"""Who may do what: accounts, API tokens, sessions, the access table, audit, rate limits."""
