"""Patrols of grid workers: GPS positions from their phones, patrols, daily tracks."""
