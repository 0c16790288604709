"""The shared vocabulary: types, config, errors, events, usage. Imports nothing else of ours."""
