"""Intake: the message and outcome types, conversations, tickets and the one pipeline every channel calls."""
