"""Notices to residents (宣传) and the printed leaflets grid workers deliver door to door."""
