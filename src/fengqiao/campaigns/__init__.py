"""Campaigns (专项整治): targeted drives over classes of events in an area and a period."""
