"""Logging in, and the guard every request passes: session, role, station scope, CSRF, headers."""
