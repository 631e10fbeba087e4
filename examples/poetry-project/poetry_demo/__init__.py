"""A poetry project, installed into an image by imagespec."""
