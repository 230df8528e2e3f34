"""Audit trail of reads and changes of client data."""
