"""Package data for intents (lexicons), loaded with importlib.resources."""
