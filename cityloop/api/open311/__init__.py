"""Open311 GeoReport v2 (``/open311/v2``): the standard's server side, in JSON and XML."""
