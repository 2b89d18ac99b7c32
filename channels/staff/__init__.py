"""channels.staff."""
