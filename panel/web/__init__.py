"""HTTP and WebSocket adapters, one module per audience."""
