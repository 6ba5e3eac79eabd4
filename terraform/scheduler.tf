# TTL destroy schedules (one-time at() schedules, created by the pipeline at run time) live in this group.
resource "aws_scheduler_schedule_group" "ttl" {
  name = local.names.schedule_group
}
