"""Store layer: PynamoDB models and the queries on them. Nothing above this layer sees PynamoDB."""
