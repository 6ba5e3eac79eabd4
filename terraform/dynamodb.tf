# Locks (one item per repository#environment, taken by conditional write), runs and approvals (the
# approval task token is kept against its run), and webhook deliveries (exactly-once intake, expired by
# TTL). Key attribute names come from names.json, which the adapters and the embedded stack share.
locals {
  tables = {
    for key, t in local.names_doc.tables : key => merge(t, { name = local.names[key] })
  }
}

resource "aws_dynamodb_table" "this" {
  for_each     = local.tables
  name         = each.value.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.hash_key

  attribute {
    name = each.value.hash_key
    type = "S"
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.pipeline.arn
  }

  deletion_protection_enabled = var.stage == "prod"
}
