"""Offline providers: no network, no key, no model weights.

``studio`` composes product shots from a reference photo, ``technical`` scores them with
measured checks, ``rules`` rewrites the prompt from those checks. They share one vocabulary
(vocabulary.py) and, through the run's provider context, one cut-out per reference.
"""
