"""Feedback to people: confidential feedback to reporters after their case is presented, and pats on the
back between colleagues."""
