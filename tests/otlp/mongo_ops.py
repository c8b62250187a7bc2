#!/usr/bin/env python3
"""Four MongoDB operations for the telemetry-export tests, through a URI:
insert {_id: 1} into shop.orders, find it, insert it again (a duplicate
key: the server answers with writeErrors), then two updates in one command
(a batch of two statements).
Prints a JSON summary.

    mongo_ops.py URI
"""
import json
import sys

from pymongo import MongoClient, UpdateOne
from pymongo.errors import DuplicateKeyError


def main():
    client = MongoClient(sys.argv[1], directConnection=True, serverSelectionTimeoutMS=10000)
    orders = client["shop"]["orders"]
    orders.insert_one({"_id": 1, "item": "book"})
    found = orders.find_one({"_id": 1})
    duplicate = False
    try:
        orders.insert_one({"_id": 1, "item": "again"})
    except DuplicateKeyError:
        duplicate = True
    orders.bulk_write([UpdateOne({"_id": 1}, {"$set": {"n": 1}}),
                       UpdateOne({"_id": 1}, {"$set": {"m": 2}})])
    client.close()
    print(json.dumps({"found": found is not None, "duplicate": duplicate}))


if __name__ == "__main__":
    main()
