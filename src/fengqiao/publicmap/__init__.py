"""The public map of reports (身边事): GeoJSON anyone may read, and its privacy rules."""
