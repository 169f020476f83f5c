"""HTTP adapter: read the request, call a service, render the envelope."""
