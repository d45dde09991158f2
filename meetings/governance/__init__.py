"""Governance: scorecards per site and for the network, the annual learning report, the case library and
the incident-system export."""
