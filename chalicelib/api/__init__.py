"""API: Chalice blueprints that parse, authorise, call one service and shape the answer."""
