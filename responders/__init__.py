"""Floor 3: reply composition, the suggestion lifecycle, publishing, tracking and people's preferences."""
