"""Scheduling: meetings one at a time or as a series, moved, cancelled, and their invitations."""
