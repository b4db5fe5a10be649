"""The built-in games. Each module holds one game; ``meeple.game.registry`` lists them."""
