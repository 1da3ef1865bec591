"""Domain: pure Python rules (registration numbers, divisions, roles); no boto3 here."""
