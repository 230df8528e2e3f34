"""Carers (auxiliaires de vie): skills, contracts, availability, absences."""
