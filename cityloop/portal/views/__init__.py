"""Views of the phone pages: ``inspector`` (/m/), ``public`` (/public/) and the shared ``common`` endpoints."""
