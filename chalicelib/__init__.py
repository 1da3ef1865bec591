"""Mobile Member Platform: domain, store, services, api, consumers and the local stack."""
