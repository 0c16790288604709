"""OpenAI providers: Responses API generation, vision evaluation and prompt refinement."""
