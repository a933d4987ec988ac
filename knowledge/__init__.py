"""Floor 2: help articles, their language variants, the matcher, import/export and evaluation."""
