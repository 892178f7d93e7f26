"""Everything a person reads, split by what it renders; the only place rich is imported (lazily)."""
