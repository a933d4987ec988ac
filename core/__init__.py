"""Floor 1: settings, database, tables and errors shared by every other package."""
