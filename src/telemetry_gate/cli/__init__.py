"""The command: the Typer app, completion, and rendering (the only place rich is imported)."""
