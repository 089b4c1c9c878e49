"""Tracked tasks (督办事项): what a person must do by a deadline that is not an event."""
