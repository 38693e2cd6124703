"""WSGI entry point for gunicorn / waitress: `gunicorn dashboard.wsgi:server` (settings from QZ_*)."""

from dashboard.app import create_app
from qingzhi.config import load_settings, require_caller_key

settings = load_settings()
require_caller_key(settings)  # refuse to start, as `qingzhi dashboard` does
server = create_app(settings).server
