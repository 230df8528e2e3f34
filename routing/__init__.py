"""Plan home-care rounds: a pure, typed routing library (no web framework imports)."""
