"""Front ends on the engine's API: the command line, the web app, the MCP server and the catalog
runner (locally or on Ray)."""
