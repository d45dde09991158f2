"""Calendars: iCal builders, emailed invitations and subscription feeds."""
