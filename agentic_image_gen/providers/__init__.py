"""Providers: one module per vendor and role, chosen by name (see base.py)."""
