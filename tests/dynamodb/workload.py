"""Real boto3 DynamoDB calls through Periscope, and an account of exactly
what they were, for the Rust tests to compare Periscope's metrics with.

Usage: workload.py ENDPOINT [--tables PREFIX]

Prints one JSON object:
  calls:     [{operation, table, error, count}]   one row per table a call
             named ("" for none); error is the AWS error code, "" on success
  capacity:  [{operation, table, type, units}]    ConsumedCapacity, read/write
  batch:     [{operation, table, count, items}]   items a batch/transaction
             named per table
  unprocessed: {operation: {"items": n, "keys": n}}
  pages:     {"Query": n, "Scan": n}               for the readers' benefit
  requests:  calls made (each one HTTP request)

The account is built from what this script sent and what boto3 returned,
independently of Periscope's refiner: the tests compare the two.
"""
import collections
import json
import os
import sys

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}

endpoint = sys.argv[1]
prefix = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--tables" else ""
MUSIC, ACCOUNTS = prefix + "Music", prefix + "Accounts"

ddb = boto3.client(
    "dynamodb",
    endpoint_url=endpoint,
    region_name="us-east-1",
    # One attempt: a retried call would be two calls on the wire.
    config=Config(retries={"max_attempts": 1, "mode": "standard"}),
)

calls = collections.Counter()
capacity = collections.defaultdict(float)
batch = collections.defaultdict(lambda: [0, 0])
unprocessed = collections.defaultdict(lambda: {"items": 0, "keys": 0})
pages = collections.Counter()
sent = [0]


def tables_of(op, params):
    """Tables a call names, with the items it names there (in order)."""
    if "RequestItems" in params:
        out = {}
        for table, value in params["RequestItems"].items():
            out[table] = len(value) if isinstance(value, list) else len(value["Keys"])
        return out
    if "TransactItems" in params:
        out = {}
        for item in params["TransactItems"]:
            (inner,) = item.values()
            out[inner["TableName"]] = out.get(inner["TableName"], 0) + 1
        return out
    if "TableName" in params:
        return {params["TableName"]: 0}
    return {}


def call(op, **params):
    sent[0] += 1
    method = getattr(ddb, "".join("_" + c.lower() if c.isupper() else c for c in op)[1:])
    try:
        response, error = method(**params), ""
    except ClientError as e:
        response, error = e.response, e.response["Error"]["Code"]
    tables = tables_of(op, params)
    for table, items in (tables or {"": 0}).items():
        calls[(op, table, error)] += 1
        if items:
            batch[(op, table)][0] += 1
            batch[(op, table)][1] += items
    used = response.get("ConsumedCapacity") or []
    for entry in used if isinstance(used, list) else [used]:
        table = entry.get("TableName", "")
        if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
            split = [("read", entry.get("ReadCapacityUnits", 0.0)),
                     ("write", entry.get("WriteCapacityUnits", 0.0))]
        else:
            kind = "read" if op in READS else "write"
            split = [(kind, entry.get("CapacityUnits", 0.0))]
        for kind, units in split:
            if units > 0:
                capacity[(op, table, kind)] += units
    for key, kind in (("UnprocessedItems", "items"), ("UnprocessedKeys", "keys")):
        for value in (response.get(key) or {}).values():
            n = len(value) if isinstance(value, list) else len(value.get("Keys", []))
            unprocessed[op][kind] += n
    return response


def key(artist, song):
    return {"Artist": {"S": artist}, "Song": {"S": song}}


def item(artist, song, year):
    return dict(key(artist, song), Year={"N": str(year)})


# -- tables ------------------------------------------------------------------
call("CreateTable", TableName=MUSIC,
     KeySchema=[{"AttributeName": "Artist", "KeyType": "HASH"},
                {"AttributeName": "Song", "KeyType": "RANGE"}],
     AttributeDefinitions=[{"AttributeName": "Artist", "AttributeType": "S"},
                           {"AttributeName": "Song", "AttributeType": "S"}],
     BillingMode="PAY_PER_REQUEST")
call("CreateTable", TableName=ACCOUNTS,
     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
     BillingMode="PAY_PER_REQUEST")
call("DescribeTable", TableName=MUSIC)

# -- single items --------------------------------------------------------------
for i in range(7):
    call("PutItem", TableName=MUSIC, Item=item("Band", "Song %d" % i, 2000 + i),
         ReturnConsumedCapacity="TOTAL")
call("PutItem", TableName=MUSIC, Item=item("Band", "Song 0", 1999),
     ConditionExpression="attribute_not_exists(Artist)")  # ConditionalCheckFailed
call("GetItem", TableName=MUSIC, Key=key("Band", "Song 1"), ConsistentRead=True,
     ReturnConsumedCapacity="TOTAL")
call("UpdateItem", TableName=MUSIC, Key=key("Band", "Song 2"),
     UpdateExpression="SET Plays = :p", ExpressionAttributeValues={":p": {"N": "1"}},
     ReturnConsumedCapacity="TOTAL")
call("DeleteItem", TableName=MUSIC, Key=key("Band", "Song 3"), ReturnConsumedCapacity="TOTAL")
call("GetItem", TableName=prefix + "Missing", Key=key("a", "b"))  # ResourceNotFound
call("GetItem", TableName=MUSIC, Key={"Artist": {"S": "no range key"}})  # Validation

# -- query with pagination, scan with segments -----------------------------------
start = None
while True:
    params = dict(TableName=MUSIC, KeyConditionExpression="Artist = :a",
                  ExpressionAttributeValues={":a": {"S": "Band"}}, Limit=2,
                  ReturnConsumedCapacity="TOTAL")
    if start:
        params["ExclusiveStartKey"] = start
    page = call("Query", **params)
    pages["Query"] += 1
    start = page.get("LastEvaluatedKey")
    if not start:
        break
for segment in range(2):
    call("Scan", TableName=MUSIC, Segment=segment, TotalSegments=2,
         ReturnConsumedCapacity="TOTAL")
    pages["Scan"] += 1

# -- batches and transactions ----------------------------------------------------
call("BatchWriteItem", RequestItems={
    MUSIC: [{"PutRequest": {"Item": item("Solo", "S%d" % i, 2010)}} for i in range(4)],
    ACCOUNTS: [{"PutRequest": {"Item": {"id": {"S": "a1"}, "n": {"N": "0"}}}}],
}, ReturnConsumedCapacity="TOTAL")
call("BatchGetItem", RequestItems={
    MUSIC: {"Keys": [key("Solo", "S0"), key("Solo", "S1"), key("Band", "Song 1")]},
    ACCOUNTS: {"Keys": [{"id": {"S": "a1"}}]},
}, ReturnConsumedCapacity="TOTAL")
call("TransactWriteItems", TransactItems=[
    {"Put": {"TableName": ACCOUNTS, "Item": {"id": {"S": "a2"}, "n": {"N": "1"}}}},
    {"Update": {"TableName": ACCOUNTS, "Key": {"id": {"S": "a1"}},
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    {"Delete": {"TableName": MUSIC, "Key": key("Solo", "S3")}},
], ReturnConsumedCapacity="TOTAL")
call("TransactWriteItems", TransactItems=[
    {"ConditionCheck": {"TableName": ACCOUNTS, "Key": {"id": {"S": "nobody"}},
                        "ConditionExpression": "attribute_exists(id)"}},
    {"Put": {"TableName": MUSIC, "Item": item("T", "x", 1)}},
])  # TransactionCanceled (moto); UnknownOperation (dynalite)
call("TransactGetItems", TransactItems=[
    {"Get": {"TableName": ACCOUNTS, "Key": {"id": {"S": "a1"}}}},
    {"Get": {"TableName": MUSIC, "Key": key("Band", "Song 1")}},
], ReturnConsumedCapacity="TOTAL")
call("ListTables", Limit=10)

json.dump({
    "calls": [{"operation": o, "table": t, "error": e, "count": n}
              for (o, t, e), n in sorted(calls.items())],
    "capacity": [{"operation": o, "table": t, "type": k, "units": u}
                 for (o, t, k), u in sorted(capacity.items())],
    "batch": [{"operation": o, "table": t, "count": c, "items": i}
              for (o, t), (c, i) in sorted(batch.items())],
    "unprocessed": unprocessed,
    "pages": pages,
    "requests": sent[0],
}, sys.stdout, indent=1)
