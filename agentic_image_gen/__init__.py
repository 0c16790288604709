"""agentic-image-gen: generate, evaluate and refine product images until they are good enough."""

__version__ = "0.1.0"
