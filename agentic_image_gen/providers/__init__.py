"""Providers: plugins registered by entry point (see base.py); each package is one vendor."""
