"""Plot functions (matplotlib): each takes data and an optional ax/fig and returns the Figure."""
