"""The real-time path: collector input, queues, live profile stores and the live engine."""
