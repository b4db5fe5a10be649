"""What players earn and own beyond one room: ratings (and, with accounts, their identity)."""
