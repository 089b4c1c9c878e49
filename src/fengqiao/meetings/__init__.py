"""Analysis meetings (研判会商) at district, town and village level, and their decisions."""
