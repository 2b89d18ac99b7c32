"""intake.core."""
