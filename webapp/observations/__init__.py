"""Carers' observations after a visit: the short form that feeds the risk scores."""
