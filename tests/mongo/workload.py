#!/usr/bin/env python3
"""A scripted pymongo workload that prints a JSON account of what it did.

    python workload.py URI [--scenario crud|errors|collections|handshake]
                           [--compressors zlib|snappy|zstd]

The account is the driver's own, taken from pymongo's command monitoring
(one event per command it put on the wire, with the server's reply), so a
Rust test can compare Periscope's telemetry with it line by line:

    {"operations": [{"command": "find", "db": "shop", "collection": "items",
                     "status": "", "count": 1, "documents": 3}, ...],
     "handshake": {"endSessions": 1},
     "connections": 2, "heartbeats": 1,
     "cursors": {"opened": 2, "exhausted": 1, "killed": 1},
     "errors": {"11000": 1}}

`status` is "" for a success, else the error code as a string: the first
write error's code for ok:1 replies carrying writeErrors, the command's
`code` for ok:0 replies (or "" when the server gave none, see
`failed_without_code`). `documents` sums cursor.firstBatch / nextBatch
lengths, `reply_bytes` the sizes of the (uncompressed) reply messages,
`sent_documents` the documents and statements writes carried and `writes`
how many of the commands carried any.
Handshake and heartbeat commands are listed apart, never as operations.
`connections` counts pooled connections opened (each begins with a
handshake), `heartbeats` the monitor's checks (the first is the monitor
connection's handshake), `compressor` what the driver was asked to use.

The client connects with directConnection=true and a 10-minute heartbeat,
so background monitoring adds exactly one check while the script runs.
"""
import argparse
import collections
import json
import sys

import bson
import pymongo
from pymongo import DeleteOne, InsertOne, ReplaceOne, UpdateOne, monitoring
from pymongo.errors import DuplicateKeyError, OperationFailure, WriteError

HANDSHAKE = {"hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo",
             "saslStart", "saslContinue", "authenticate", "getnonce",
             "endSessions", "logout"}


def collection_of(command_name, command):
    """The collection a command names, as the issue defines it."""
    if command_name in ("getMore",):
        return command.get("collection", "")
    value = command.get(command_name)
    return value if isinstance(value, str) else ""


def sent_documents(command):
    """Documents and statements a write carries. pymongo's monitoring puts
    an OP_MSG's document sequence back into the command it reports."""
    return sum(len(command.get(field) or [])
               for field in ("documents", "updates", "deletes"))


def status_of(reply):
    errors = reply.get("writeErrors") or []
    if errors:
        return str(errors[0].get("code", ""))
    if reply.get("ok", 1) != 1 and "code" in reply:
        return str(reply["code"])
    return ""


def reply_bytes(reply):
    """Size of the OP_MSG that carried `reply`: header (16), flags (4),
    section kind (1) and the document re-encoded (pymongo decodes int32,
    int64 and doubles back to their own types, so the size is exact)."""
    return 21 + len(bson.encode(reply)) if reply else 0


class Account:
    """Everything the driver sent and got back, grouped like the metrics."""

    def __init__(self):
        self.pending = {}
        self.ops = collections.OrderedDict()
        self.handshake = collections.Counter()
        self.cursors = collections.Counter()
        self.errors = collections.Counter()
        self.failed_without_code = 0
        self.connections = 0
        self.heartbeats = 0

    def listeners(self):
        return [Commands(self), Heartbeats(self), Pool(self)]

    def command_started(self, event):
        self.pending[event.request_id] = (
            event.command_name, event.database_name,
            collection_of(event.command_name, event.command),
            sent_documents(event.command))

    def command_finished(self, event, reply):
        name, db, coll, sent = self.pending.pop(event.request_id)
        if name in HANDSHAKE:
            self.handshake[name] += 1
            return
        status = status_of(reply)
        if reply.get("ok", 1) != 1 and "code" not in reply:
            self.failed_without_code += 1
        key = (name, db, coll, status)
        op = self.ops.setdefault(key, {"command": name, "db": db,
                                       "collection": coll, "status": status,
                                       "count": 0, "documents": 0,
                                       "reply_bytes": 0, "writes": 0,
                                       "sent_documents": 0})
        op["count"] += 1
        if sent:
            op["writes"] += 1
            op["sent_documents"] += sent
        op["reply_bytes"] += reply_bytes(reply)
        cursor = reply.get("cursor") or {}
        batch = cursor.get("firstBatch", cursor.get("nextBatch"))
        if batch is not None:
            op["documents"] += len(batch)
            if "firstBatch" in cursor and cursor.get("id", 0) != 0:
                self.cursors["opened"] += 1
            if "nextBatch" in cursor and cursor.get("id", 0) == 0:
                self.cursors["exhausted"] += 1
        if name == "killCursors":
            self.cursors["killed"] += len(reply.get("cursorsKilled", []))
        if status:
            self.errors[status] += 1

    def summary(self, compressor):
        return {
            "compressor": compressor,
            "operations": list(self.ops.values()),
            "handshake": dict(self.handshake),
            "connections": self.connections,
            "heartbeats": self.heartbeats,
            "cursors": {k: self.cursors[k] for k in ("opened", "exhausted", "killed")},
            "errors": dict(self.errors),
            "failed_without_code": self.failed_without_code,
        }


class Commands(monitoring.CommandListener):
    def __init__(self, account):
        self.account = account

    def started(self, event):
        self.account.command_started(event)

    def succeeded(self, event):
        self.account.command_finished(event, event.reply)

    def failed(self, event):
        failure = event.failure if isinstance(event.failure, dict) else {}
        self.account.command_finished(event, failure)


class Heartbeats(monitoring.ServerHeartbeatListener):
    def __init__(self, account):
        self.account = account

    def started(self, event):
        pass

    def succeeded(self, event):
        self.account.heartbeats += 1

    def failed(self, event):
        self.account.heartbeats += 1


class Pool(monitoring.ConnectionPoolListener):
    """Counts connections opened; the other pool events carry nothing the
    account needs."""

    def __init__(self, account):
        self.account = account

    def connection_created(self, event):
        self.account.connections += 1

    def __getattribute__(self, name):
        if name.startswith(("connection_", "pool_")) and name != "connection_created":
            return lambda event: None
        return object.__getattribute__(self, name)


def crud(client):
    """Every kind of operation the issue names, on shop.items and shop.orders."""
    shop = client["shop"]
    items, orders = shop["items"], shop["orders"]
    items.drop()
    items.create_index("sku", unique=True)
    items.insert_one({"sku": 0, "kind": "a", "n": 0})
    items.insert_many([{"sku": i, "kind": "b" if i % 2 else "c", "n": i}
                       for i in range(1, 11)])
    assert len(list(items.find({}).batch_size(3))) == 11  # find + 3 getMore
    cursor = items.find({}).batch_size(2)                    # find + killCursors
    next(cursor)
    cursor.close()
    items.update_one({"sku": 1}, {"$set": {"kind": "z"}})
    items.update_many({"kind": "b"}, {"$inc": {"n": 100}})
    items.replace_one({"sku": 2}, {"sku": 2, "kind": "r", "n": 2})
    items.find_one_and_update({"sku": 3}, {"$set": {"kind": "f"}})
    items.bulk_write([InsertOne({"sku": 200}),
                      UpdateOne({"sku": 200}, {"$set": {"x": 1}}),
                      ReplaceOne({"sku": 200}, {"sku": 200, "y": 1}),
                      DeleteOne({"sku": 200})])
    groups = list(items.aggregate([{"$group": {"_id": "$kind", "c": {"$sum": 1}}}]))
    assert groups, groups
    assert items.count_documents({"kind": "b"}) == 3
    assert items.estimated_document_count() == 11
    assert sorted(items.distinct("kind")) == ["a", "b", "c", "f", "r", "z"]
    assert len(list(items.list_indexes())) == 2
    try:
        items.insert_one({"sku": 0})
        raise AssertionError("duplicate sku was accepted")
    except DuplicateKeyError:
        pass
    items.delete_one({"sku": 0})
    items.delete_many({"kind": "c"})
    with client.start_session() as session:
        with session.start_transaction():
            orders.insert_one({"order": 1}, session=session)
    assert orders.count_documents({}) == 1
    orders.drop()


def errors(client):
    """Failures only: a duplicate key (11000), an unsupported update operator
    (a write error), and a command the server rejects with ok:0."""
    items = client["shop"]["items"]
    items.drop()
    items.create_index("sku", unique=True)
    items.insert_one({"sku": 1})
    for _ in range(2):
        try:
            items.insert_one({"sku": 1})
        except DuplicateKeyError:
            pass
    try:
        items.update_one({"sku": 1}, {"$bogus": {"a": 1}})
    except WriteError:
        pass
    try:
        list(items.aggregate([{"$noSuchStage": {}}]))
    except OperationFailure:
        pass


def collections_(client):
    """One insert into each of three collections (label cap tests)."""
    db = client["shop"]
    for name in ("first", "second", "third"):
        db[name].insert_one({"name": name})


def handshake(client):
    """Nothing but the driver's own traffic: connect, ping, close."""
    client.admin.command("ping")


SCENARIOS = {"crud": crud, "errors": errors, "collections": collections_,
             "handshake": handshake}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("uri")
    ap.add_argument("--scenario", default="crud", choices=sorted(SCENARIOS))
    ap.add_argument("--compressors", default="")
    a = ap.parse_args()
    account = Account()
    options = dict(directConnection=True, heartbeatFrequencyMS=600_000,
                   serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
                   socketTimeoutMS=10_000, event_listeners=account.listeners())
    if a.compressors:
        options["compressors"] = a.compressors
    client = pymongo.MongoClient(a.uri, **options)
    try:
        SCENARIOS[a.scenario](client)
    finally:
        client.close()
    json.dump(account.summary(a.compressors), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
