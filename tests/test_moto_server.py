import boto3


def test_clients_reach_moto_through_the_standard_endpoint_variable(moto_endpoint):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="tfpipe-probe")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["tfpipe-probe"]
    assert s3.meta.endpoint_url == moto_endpoint
