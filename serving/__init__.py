"""Text generation: the `ChatModel` interface, its engines, failover, and serving on Ray."""
