"""Floor 4: the front door — CLI, worker (scheduler) and, later, the web dashboard."""
