"""Meeple's pure core: game rules, the match state machine, views, deltas and their encoding.

Nothing in this package does I/O, reads a clock or runs an event loop; everything
is tested by calling functions.
"""
