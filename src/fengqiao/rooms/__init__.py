"""Meeting rooms (会商): a room per level of the org tree, sessions in them, their record."""
