"""The command room (指挥室): the situation of the caller's area for the one-map, live."""
