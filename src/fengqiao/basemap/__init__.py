"""The one-map's base: tile sources an administrator sets (Tianditu, XYZ, GCJ-02) and the local
vector base of roads and rivers that needs no network."""
