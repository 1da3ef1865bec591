"""Deployment of the whole platform to AWS: one CDK app wrapping Chalice's construct."""
