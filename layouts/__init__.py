"""Dash pages, one module per page (Dash `pages_folder`)."""
