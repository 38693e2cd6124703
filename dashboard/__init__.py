"""The Dash web app and its data access."""
