"""The embedded local stack: moto server, bootstrap, event pump, HTTP server, CLI."""
