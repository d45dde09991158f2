"""The attendance register: signing in (members and guests), presence codes, the chair's register, CPD
certificates, the attendees' evaluations, and "My CPD"."""
