"""Running a meeting live: the chair's console, the projector, the audience's phones, and polls."""
