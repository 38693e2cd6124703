"""WSGI entry point for gunicorn / waitress: `gunicorn dashboard.wsgi:server` (settings from QZ_*)."""

from dashboard.app import create_app

server = create_app().server
