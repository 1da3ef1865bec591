"""`make bench`: DynamoDB calls and time per API operation under in-process moto, and the cold start.

Run from the repository root with `.venv/bin/python -m bench` (see bench/README.md). Not part of
`make test`: timings belong here, as ratios against a baseline measured in the same run.
"""
