"""Live delivery: the wire format, the in-process hub, and the broker between processes."""
