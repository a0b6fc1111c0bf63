"""Reads and prepares the AWS API emulator for the end-to-end tests, through boto3 (the
AWS SDK for Python, installed with moto): the tests check the emulator itself, never
terraform's account of it. Endpoint and credentials come from the environment.

usage: aws_probe.py create-buckets B...      | functions PREFIX | notifications BUCKET
     | objects BUCKET | put BUCKET KEY FILE   | get BUCKET KEY (prints the body)
     | policy FUNCTION [QUALIFIER]           | log-groups PREFIX | create-log-group NAME
     | roles PREFIX                          | publish-layer NAME | network
     | set-memory FUNCTION MB (a change outside the gitops repo: drift)
"""
import json
import os
import sys

import boto3


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])


def policy(lam, name, qualifier=None):
    """Sid -> {resource, source_arn, source_account} of a function's (or alias's) policy."""
    try:
        extra = {"Qualifier": qualifier} if qualifier else {}
        document = json.loads(lam.get_policy(FunctionName=name, **extra)["Policy"])
    except lam.exceptions.ResourceNotFoundException:
        return {}
    out = {}
    for statement in document.get("Statement", []):
        condition = statement.get("Condition", {})
        out[statement["Sid"]] = {
            "resource": statement.get("Resource"),
            "source_arn": condition.get("ArnLike", {}).get("AWS:SourceArn"),
            "source_account": condition.get("StringEquals", {}).get("AWS:SourceAccount"),
        }
    return out


def function(lam, f):
    """What a test asserts about one function: its configuration, tags, concurrency, its
    published versions and `live` alias with the code each runs, and the alias's policy."""
    name = f["FunctionName"]
    versions = {}
    for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=name):
        for v in page["Versions"]:
            versions[v["Version"]] = v["CodeSha256"]
    aliases = {a["Name"]: a["FunctionVersion"] for a in lam.list_aliases(FunctionName=name)["Aliases"]}
    live = aliases.get("live")
    concurrency = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    vpc = f.get("VpcConfig") or {}
    return {
        "code_sha256": f["CodeSha256"],
        "last_modified": f["LastModified"],
        "environment": f.get("Environment", {}).get("Variables", {}),
        "memory_size": f["MemorySize"],
        "timeout": f["Timeout"],
        "runtime": f.get("Runtime"),
        "handler": f.get("Handler"),
        "role": f["Role"],
        "description": f.get("Description", ""),
        "architectures": f.get("Architectures", []),
        "layers": [layer["Arn"] for layer in f.get("Layers", [])],
        "ephemeral_storage": f.get("EphemeralStorage", {}).get("Size"),
        "tracing": f.get("TracingConfig", {}).get("Mode"),
        "subnet_ids": sorted(vpc.get("SubnetIds", [])),
        "security_group_ids": sorted(vpc.get("SecurityGroupIds", [])),
        "reserved_concurrency": concurrency,
        "tags": lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {}),
        "arn": f["FunctionArn"],
        "versions": versions,
        "aliases": aliases,
        "live": live,
        "live_code_sha256": versions.get(live),
        "live_policy": policy(lam, name, "live") if live else {},
    }


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
                    found[f["FunctionName"]] = function(lam, f)
        return found
    if command == "notifications":
        # prefix -> "<function>" or "<function>:<qualifier>", from the target's ARN.
        (bucket,) = args
        config = client("s3").get_bucket_notification_configuration(Bucket=bucket)
        out = {}
        for c in config.get("LambdaFunctionConfigurations", []):
            rules = c.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            prefix = next((r["Value"] for r in rules if r["Name"].lower() == "prefix"), "")
            out[prefix] = c["LambdaFunctionArn"].split(":function:", 1)[-1]
        return out
    if command == "policy":
        name, *qualifier = args
        return policy(client("lambda"), name, *qualifier)
    if command == "log-groups":
        (prefix,) = args
        logs = client("logs")
        out = {}
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
            for group in page["logGroups"]:
                tags = logs.list_tags_for_resource(resourceArn=group["arn"].rstrip("*").rstrip(":")).get("tags", {})
                out[group["logGroupName"]] = {"retention": group.get("retentionInDays"), "tags": tags}
        return out
    if command == "create-log-group":
        (name,) = args
        client("logs").create_log_group(logGroupName=name)
        return None
    if command == "roles":
        # role name -> {inline policy name -> its document}
        (prefix,) = args
        iam = client("iam")
        out = {}
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                if role["RoleName"].startswith(prefix):
                    names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
                    out[role["RoleName"]] = {
                        n: iam.get_role_policy(RoleName=role["RoleName"], PolicyName=n)["PolicyDocument"] for n in names
                    }
        return out
    if command == "publish-layer":
        (name,) = args
        import io, zipfile
        body = io.BytesIO()
        with zipfile.ZipFile(body, "w") as z:
            z.writestr("python/dep.py", "x = 1\n")
        layer = client("lambda").publish_layer_version(LayerName=name, Content={"ZipFile": body.getvalue()})
        return layer["LayerVersionArn"]
    if command == "network":
        ec2 = client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)
        ]
        group = ec2.create_security_group(GroupName="e2e", Description="e2e", VpcId=vpc)["GroupId"]
        return {"subnet_ids": subnets, "security_group_ids": [group]}
    if command == "objects":
        (bucket,) = args
        listing = client("s3").list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listing.get("Contents", []))
    if command == "put":
        bucket, key, path = args
        with open(path, "rb") as body:
            client("s3").put_object(Bucket=bucket, Key=key, Body=body.read())
        return None
    if command == "set-memory":
        name, memory = args
        client("lambda").update_function_configuration(FunctionName=name, MemorySize=int(memory))
        return None
    if command == "get":
        bucket, key = args
        return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    json.dump(main(*sys.argv[1:]), sys.stdout)
