"""channels.machine."""
