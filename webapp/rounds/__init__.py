"""Planning: the coordinator's day board, assignment, absences (and optimisation later)."""
