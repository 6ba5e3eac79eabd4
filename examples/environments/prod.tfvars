environment          = "prod"
memory_mib           = 512
log_retention_days   = 90
reserved_concurrency = 50
