"""Local fake servers that stand in for remote services in tests."""
