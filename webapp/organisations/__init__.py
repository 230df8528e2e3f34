"""Organisations (SAAD) and their sectors: the tenant every row belongs to."""
