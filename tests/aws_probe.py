"""Reads and prepares the AWS API emulator for the end-to-end tests, through boto3 (the
AWS SDK for Python, installed with moto): the tests check the emulator itself, never
terraform's account of it. Endpoint and credentials come from the environment.

usage: aws_probe.py create-buckets B...      | functions PREFIX | notifications BUCKET
     | objects BUCKET | put BUCKET KEY FILE   | get BUCKET KEY (prints the body)
"""
import json
import os
import sys

import boto3


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])


def main(command, *args):
    if command == "create-buckets":
        for bucket in args:
            client("s3").create_bucket(Bucket=bucket)
        return None
    if command == "functions":
        (prefix,) = args
        lam = client("lambda")
        found = {}
        for page in lam.get_paginator("list_functions").paginate():
            for f in page["Functions"]:
                if f["FunctionName"].startswith(prefix):
                    tags = lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {})
                    found[f["FunctionName"]] = {
                        "code_sha256": f["CodeSha256"],
                        "last_modified": f["LastModified"],
                        "environment": f.get("Environment", {}).get("Variables", {}),
                        "memory_size": f["MemorySize"],
                        "tags": tags,
                        "arn": f["FunctionArn"],
                    }
        return found
    if command == "notifications":
        (bucket,) = args
        config = client("s3").get_bucket_notification_configuration(Bucket=bucket)
        out = {}
        for c in config.get("LambdaFunctionConfigurations", []):
            rules = c.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            prefix = next((r["Value"] for r in rules if r["Name"].lower() == "prefix"), "")
            out[prefix] = c["LambdaFunctionArn"].rsplit(":", 1)[-1]
        return out
    if command == "objects":
        (bucket,) = args
        listing = client("s3").list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listing.get("Contents", []))
    if command == "put":
        bucket, key, path = args
        with open(path, "rb") as body:
            client("s3").put_object(Bucket=bucket, Key=key, Body=body.read())
        return None
    if command == "get":
        bucket, key = args
        return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    json.dump(main(*sys.argv[1:]), sys.stdout)
