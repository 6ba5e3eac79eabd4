environment          = "staging"
log_retention_days   = 30
reserved_concurrency = 10
