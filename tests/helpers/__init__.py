"""Small programs that tests start as separate processes."""
