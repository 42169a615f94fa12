"""Multi-site studies: sites share reviewed aggregates, the coordinator pools them."""
