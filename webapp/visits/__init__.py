"""Visits: the carer's day, check-in and check-out."""
