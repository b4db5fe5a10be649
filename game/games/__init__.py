"""The built-in games. Each module holds one game; ``game.registry`` lists them."""
