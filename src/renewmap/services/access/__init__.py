"""Who may do what: staff accounts, sessions and tokens, the scope of a staff member's area,
rate limits. Not here: the places and requests themselves."""
