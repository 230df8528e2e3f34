"""Clients (bénéficiaires): records, addresses and geocoding."""
