"""Front ends on the engine's API: the command line (more to come: web, MCP, batch)."""
