"""Consumers: stream, queue and schedule handlers, thin, calling services."""
