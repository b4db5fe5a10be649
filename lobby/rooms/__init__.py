"""Rooms and the cluster: the authoritative rooms this process hosts, and how processes share them.

A room (``room``) runs one match for its members (``member``); around it, its
timers (``timers``), stand-in players (``autoplay``) and resume backlog
(``backlog``). The manager (``manager``) holds this process's rooms; the cluster
(``cluster``) shares them with other processes over Redis; the matchmaker
(``matchmaker``) turns quick-match tickets into rooms.
"""
