"""``queue-app worker``: the background loops (``loop.start``): sending the outbox, the health
monitor, the outages' timers and the housekeeping."""
