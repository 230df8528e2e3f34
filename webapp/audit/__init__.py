"""Audit trail of reads and changes of client data: append-only, hash-chained, searchable."""
