"""The Terraform runner: one Batch job runs one `JobSpec` and reports through its task token."""
