"""openrouter_async: async-first streaming SDK for OpenRouter."""
