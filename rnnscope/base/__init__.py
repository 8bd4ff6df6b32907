"""Project-wide plumbing every layer may use: the one error type users see, atomic writes, where shipped things
live, and where a model runs."""
