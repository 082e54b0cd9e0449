"""Drives a Taxiway server with the official OASIS client, taxii2-client (PyPI), and prints a JSON
summary of what the client saw. Run by test/interop/taxii2-client.test.ts; not a test on its own.

usage: taxii2client_flow.py BASE_URL USER PASSWORD RW_COLLECTION_ID RO_COLLECTION_ID
"""
import json
import sys
import uuid

from taxii2client.exceptions import AccessError
from taxii2client.v21 import Server, Status, as_pages

base, user, password, rw_id, ro_id = sys.argv[1:6]
out = {}

server = Server(f"{base}/taxii2/", user=user, password=password)
out["title"] = server.title
out["api_roots"] = [r.url for r in server.api_roots]
root = server.default or server.api_roots[0]
out["root_title"] = root.title
out["max_content_length"] = root.max_content_length
out["collections"] = sorted((c.id, c.can_read, c.can_write) for c in root.collections)
rw = next(c for c in root.collections if c.id == rw_id)
ro = next(c for c in root.collections if c.id == ro_id)

# add_objects, then poll the status resource the way the client does.
ids = [f"indicator--{uuid.uuid4()}" for _ in range(120)]
objects = [
    {
        "type": "indicator", "spec_version": "2.1", "id": i, "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z", "name": f"interop {n}", "pattern": "[ipv4-addr:value = '192.0.2.1']",
        "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
    }
    for n, i in enumerate(ids)
]
multi = ids[0]
objects.append(dict(objects[0], modified="2024-02-01T00:00:00.000Z", name="interop 0 v2"))
status = rw.add_objects(json.dumps({"objects": objects}), wait_for_completion=True, poll_interval=1, timeout=30)
out["add_status"] = {"status": status.status, "total": status.total_count, "success": status.success_count, "failure": status.failure_count, "pending": status.pending_count}
polled = Status(f"{root.url}status/{status.id}/", user=user, password=password)
polled.refresh()
out["polled_status"] = {"id_matches": polled.id == status.id, "status": polled.status, "success": polled.success_count}
dup = rw.add_objects({"objects": objects[:3]}, wait_for_completion=False)
out["duplicate_status"] = {"success": dup.success_count, "failure": dup.failure_count}

# Paged reads: as_pages follows next with the same filters while more is true.
pages = list(as_pages(rw.get_objects, per_request=25))
seen = [o["id"] for p in pages for o in p.get("objects", [])]
out["pages"] = len(pages)
out["paged_objects"] = len(seen)
out["paged_unique"] = len(set(seen))
out["all_ids_seen"] = set(ids) <= set(seen)
typed = list(as_pages(rw.get_objects, per_request=50, type="indicator", version="all"))
out["paged_all_versions"] = sum(len(p.get("objects", [])) for p in typed)

manifest = rw.get_manifest(id=multi, version="all")
out["manifest_versions"] = [m["version"] for m in manifest.get("objects", [])]
out["get_object_latest"] = [o["modified"] for o in rw.get_object(multi).get("objects", [])]
out["versions"] = rw.object_versions(multi).get("versions", [])

rw.delete_object(multi)
try:
    rw.get_object(multi)
    out["after_delete"] = "still there"
except Exception as e:  # requests.HTTPError 404
    out["after_delete"] = getattr(getattr(e, "response", None), "status_code", str(e))

try:
    ro.add_objects({"objects": objects[:1]})
    out["readonly_add"] = "accepted"
except AccessError:
    out["readonly_add"] = "AccessError"

print(json.dumps(out))
