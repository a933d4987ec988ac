"""Floor 2: channels that fetch posts, polling with cursors, question and language detection."""
