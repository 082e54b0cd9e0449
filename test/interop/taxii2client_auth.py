"""Authenticates with taxii2-client the ways real deployments do and reads a collection; prints JSON.
Run by test/interop/taxii2-client-auth.test.ts.

usage: taxii2client_auth.py BASE_URL MODE USER SECRET COLLECTION_ID
  MODE: basic (USER/SECRET, SECRET may be an API key) | token (TokenAuth: Authorization: Token SECRET)
"""
import json
import sys

from taxii2client.common import TokenAuth
from taxii2client.v21 import Server, as_pages

base, mode, user, secret, coll_id = sys.argv[1:6]
kwargs = {"auth": TokenAuth(secret)} if mode == "token" else {"user": user, "password": secret}
server = Server(f"{base}/taxii2/", **kwargs)
root = server.api_roots[0]
coll = next(c for c in root.collections if c.id == coll_id)
status = coll.add_objects({"objects": [{
    "type": "indicator", "spec_version": "2.1", "id": "indicator--1d1c0a44-2b8c-4b54-9c5e-41c0d5b8f1a2",
    "created": "2024-03-01T00:00:00.000Z", "modified": "2024-03-01T00:00:00.000Z", "pattern": "[ipv4-addr:value = '192.0.2.7']",
    "pattern_type": "stix", "valid_from": "2024-03-01T00:00:00Z"}]})
seen = sum(len(p.get("objects", [])) for p in as_pages(coll.get_objects, per_request=10))
print(json.dumps({"root": root.title, "can_write": coll.can_write, "added": status.success_count, "seen": seen}))
