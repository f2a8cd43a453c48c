"""The segment language: parse definitions, compile them to SQL and to Python, evaluate."""
