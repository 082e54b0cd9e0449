"""Drives Taxiway's TAXII 1.x services with the real clients cabby and libtaxii (PyPI) and prints a
JSON summary of what they saw. Run by test/interop/taxii1-clients.test.ts; not a test on its own.

usage: taxii1_flow.py HOST PORT ROOT USER PASSWORD OTHER_USER OTHER_PASSWORD
"""
import datetime
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import libtaxii as t
import libtaxii.clients as tc
import libtaxii.constants as C
import libtaxii.messages_10 as tm10
import libtaxii.messages_11 as tm11
from cabby import create_client
from cabby.entities import InboxService
from cabby.exceptions import UnsuccessfulStatusError
from lxml import etree

host, port, root, user, password, other_user, other_password = sys.argv[1:8]
port = int(port)
base = f"/taxii1/{root}"
out = {}

STIX = (
    '<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" '
    'xmlns:indicator="http://stix.mitre.org/Indicator-2" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="example:Package-{n}" version="1.2">'
    '<stix:Indicators><stix:Indicator xsi:type="indicator:IndicatorType" id="example:indicator-{n}">'
    '<indicator:Title>Indicator {n} \u00e9\u00e8 &amp; co</indicator:Title></stix:Indicator></stix:Indicators>'
    "</stix:STIX_Package>"
)


BLANKS = etree.XMLParser(remove_blank_text=True)


def c14n(xml):
    """Exclusive canonical form without blank text: what the document means, whatever namespace
    declarations the client re-serialized it with and however libtaxii pretty-printed it on sending."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.tostring(etree.fromstring(data, BLANKS), method="c14n", exclusive=True).decode()


def client(version="1.1", **auth):
    c = create_client(host, port=port, discovery_path=f"{base}/discovery/", version=version)
    c.set_auth(username=auth.get("username", user), password=auth.get("password", password), jwt_auth_url=auth.get("jwt"))
    return c


def status_of(fn):
    try:
        fn()
        return "OK"
    except UnsuccessfulStatusError as e:
        return e.status
    except Exception as e:  # noqa: BLE001 - the summary reports what the client raised
        return type(e).__name__


# --- a receiving inbox for push delivery, parsed by libtaxii ---
pushed = []


class Inbox(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        version = self.headers.get("X-TAXII-Content-Type")
        mod = tm11 if version == C.VID_TAXII_XML_11 else tm10
        msg = mod.get_message_from_xml(body)
        pushed.append({"version": version, "type": msg.message_type, "blocks": [b.content.decode() if isinstance(b.content, bytes) else b.content for b in msg.content_blocks],
                       "subscription": msg.subscription_information.subscription_id if msg.subscription_information else None,
                       "valid": t.validation.SchemaValidator(t.validation.SchemaValidator.TAXII_11_SCHEMA if mod is tm11 else t.validation.SchemaValidator.TAXII_10_SCHEMA).validate_etree(etree.fromstring(body)).valid})
        reply = mod.StatusMessage(message_id=mod.generate_message_id(), in_response_to=msg.message_id, status_type=C.ST_SUCCESS).to_xml()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("X-TAXII-Content-Type", version)
        self.send_header("X-TAXII-Services", C.VID_TAXII_SERVICES_11 if mod is tm11 else C.VID_TAXII_SERVICES_10)
        self.send_header("X-TAXII-Protocol", C.VID_TAXII_HTTP_10)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


inbox_server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
threading.Thread(target=inbox_server.serve_forever, daemon=True).start()
inbox_url = f"http://127.0.0.1:{inbox_server.server_address[1]}/inbox/"

# --- cabby, TAXII 1.1 ---
c11 = client()
out["services_11"] = sorted((s.type, s.version) for s in c11.discover_services())
out["collections_11"] = sorted(c.name for c in c11.get_collections())

# Subscribe for push before content arrives, so that the delivery carries what is pushed below.
sub = c11.subscribe("rw", inbox_service=InboxService(C.VID_TAXII_HTTP_10, inbox_url, [C.VID_TAXII_XML_11]))
out["subscribe_status"] = sub.subscriptions[0].status

before = datetime.datetime.now(datetime.timezone.utc)
contents = [STIX.format(n=i) for i in range(12)]
for content in contents:
    c11.push(content, C.CB_STIX_XML_12, collection_names=["rw"])
text_content = '{"type": "bundle", "note": "<not xml> & json"}'
c11.push(text_content, "urn:example.com:json", collection_names=["rw"], uri=f"{base}/inbox/rw/")

# The server cuts results into parts of 5 here: cabby follows `more` with Poll_Fulfillment by itself.
polled = list(c11.poll("rw", begin_date=before))
out["polled_count"] = len(polled)
out["polled_xml_equal"] = [c14n(b.content) for b in polled[:12]] == [c14n(x) for x in contents]
out["polled_text_equal"] = polled[12].content.decode() == text_content if len(polled) > 12 else False
out["polled_bindings"] = sorted({b.binding.id for b in polled})
labels = [b.timestamp for b in polled]
out["labels_increasing"] = all(a < b for a, b in zip(labels, labels[1:]))
out["labels_have_microseconds"] = any(lb.microsecond % 1000 != 0 for lb in labels)

# Exclusive begin, inclusive end, compared at microsecond precision.
window = list(c11.poll("rw", begin_date=labels[2], end_date=labels[5]))
out["window"] = [b.timestamp == lb for b, lb in zip(window, labels[3:6])] + [len(window)]
out["count"] = c11.get_content_count("rw", begin_date=before).count

# Subscriptions: status, pause, resume, poll by subscription id, unsubscribe.
poll_sub = c11.subscribe("rw", content_bindings=[C.CB_STIX_XML_12])
sid = poll_sub.subscriptions[0].id
out["status_all"] = len(c11.get_subscription_status("rw").subscriptions)
out["paused"] = c11.pause_subscription("rw", sid).subscriptions[0].status
out["resumed"] = c11.resume_subscription("rw", sid).subscriptions[0].status
out["poll_by_subscription"] = len(list(c11.poll("rw", subscription_id=sid, begin_date=before)))
out["unsubscribed"] = c11.unsubscribe("rw", sid).subscriptions[0].status
out["status_unknown"] = status_of(lambda: c11.pause_subscription("rw", sid))

# Push delivery to the receiving inbox above.
deadline = time.time() + 20
while time.time() < deadline and sum(len(p["blocks"]) for p in pushed) < 13:
    time.sleep(0.1)
out["pushed_blocks"] = sum(len(p["blocks"]) for p in pushed)
out["pushed_subscription"] = {p["subscription"] for p in pushed} == {sub.subscriptions[0].id}
out["pushed_valid"] = all(p["valid"] for p in pushed)
out["pushed_xml_equal"] = [c14n(b) for p in pushed for b in p["blocks"] if b.lstrip().startswith("<")][:12] == [c14n(x) for x in contents]

# Errors as cabby users see them.
out["err_unknown_collection"] = status_of(lambda: list(c11.poll("no-such-collection")))
out["err_wrong_password"] = status_of(lambda: client(password="wrong").get_collections())
out["err_readonly_push"] = status_of(lambda: c11.push(contents[0], C.CB_STIX_XML_12, collection_names=["ro"]))
out["err_other_tenant_user"] = status_of(lambda: client(username=other_user, password=other_password).get_collections())

# JWT login, as cabby --jwt-auth does it.
jwt = client(jwt="/taxii1/auth")
out["jwt_collections"] = sorted(c.name for c in jwt.get_collections())

# --- cabby, TAXII 1.0 ---
c10 = client("1.0")
out["services_10"] = sorted((s.type, s.version) for s in c10.discover_services())
out["feeds_10"] = sorted(c.name for c in c10.get_collections())
polled10 = list(c10.poll("rw", begin_date=before))
out["polled_10_count"] = len(polled10)
out["polled_10_equal"] = [c14n(b.content) for b in polled10[:12]] == [c14n(x) for x in contents]

# --- libtaxii HttpClient directly: fulfillment, errors ---
hc = tc.HttpClient()
hc.set_auth_type(tc.HttpClient.AUTH_BASIC)
hc.set_auth_credentials({"username": user, "password": password})


def call(path, msg, binding=C.VID_TAXII_XML_11):
    resp = hc.call_taxii_service2(host, path, binding, msg.to_xml(pretty_print=True), port)
    return t.get_message_from_http_response(resp, msg.message_id)


disc = call(f"{base}/discovery/", tm11.DiscoveryRequest(message_id=tm11.generate_message_id()))
out["libtaxii_discovery"] = [s.service_type for s in disc.service_instances]
pr = call(f"{base}/poll/", tm11.PollRequest(message_id=tm11.generate_message_id(), collection_name="rw",
                                              exclusive_begin_timestamp_label=before,
                                              poll_parameters=tm11.PollRequest.PollParameters()))
out["libtaxii_poll"] = [pr.message_type, pr.more, pr.result_part_number, len(pr.content_blocks), pr.record_count.record_count]
part3 = call(f"{base}/poll/", tm11.PollFulfillmentRequest(message_id=tm11.generate_message_id(), collection_name="rw", result_id=pr.result_id, result_part_number=3))
out["libtaxii_part3"] = [part3.message_type, part3.more, len(part3.content_blocks)]
bad_part = call(f"{base}/poll/", tm11.PollFulfillmentRequest(message_id=tm11.generate_message_id(), collection_name="rw", result_id=pr.result_id, result_part_number=9))
out["libtaxii_bad_part"] = [bad_part.status_type, bad_part.status_detail.get("MAX_PART_NUMBER")]
inbox_bad = call(f"{base}/inbox/", tm11.InboxMessage(message_id=tm11.generate_message_id(), destination_collection_names=["ro"],
                                                        content_blocks=[tm11.ContentBlock(C.CB_STIX_XML_111, contents[0])]))
out["libtaxii_bad_destination"] = [inbox_bad.status_type, inbox_bad.status_detail.get("ACCEPTABLE_DESTINATION")]
raw = hc.call_taxii_service2(host, f"{base}/poll/", C.VID_TAXII_XML_11, b"<not-xml", port)
bm = t.get_message_from_http_response(raw, "0")
out["libtaxii_bad_message"] = bm.status_type
# Unsupported message binding, protocol binding and query, as libtaxii reads them.
um = t.get_message_from_http_response(hc.call_taxii_service2(host, f"{base}/discovery/", "urn:cert.europa.eu:message:json:1.0",
                                                              tm11.DiscoveryRequest(message_id=tm11.generate_message_id()).to_xml(), port), "0")
# libtaxii sends services:1.0 with a binding it does not know, so the answer is in 1.0: the detail is the space-separated list.
detail = um.status_detail
out["libtaxii_unsupported_message"] = [um.status_type, sorted(detail.get("SUPPORTED_BINDING") if isinstance(detail, dict) else detail.split())]
up = call(f"{base}/collection-management/", tm11.ManageCollectionSubscriptionRequest(
    message_id=tm11.generate_message_id(), collection_name="rw", action=C.ACT_SUBSCRIBE,
    subscription_parameters=tm11.SubscriptionParameters(),
    push_parameters=tm11.PushParameters("urn:example.com:protocol:smtp", "mailto:soc@example.com", C.VID_TAXII_XML_11)))
out["libtaxii_unsupported_protocol"] = up.status_type
import libtaxii.taxii_default_query as tdq  # noqa: E402 - only this check needs it
query = tdq.DefaultQuery(C.CB_STIX_XML_111, tdq.DefaultQuery.Criteria(operator=C.OP_AND, criterion=[
    tdq.DefaultQuery.Criterion(target="**/@id", test=tdq.DefaultQuery.Criterion.Test(
        capability_id=C.CM_CORE, relationship=C.R_EQUALS, parameters={C.P_VALUE: "x", C.P_MATCH_TYPE: "case_sensitive_string"}))]))
uq = call(f"{base}/poll/", tm11.PollRequest(message_id=tm11.generate_message_id(), collection_name="rw",
                                            poll_parameters=tm11.PollRequest.PollParameters(query=query)))
out["libtaxii_unsupported_query"] = uq.status_type
d10 = call(f"{base}/discovery/", tm10.DiscoveryRequest(message_id=tm10.generate_message_id()), C.VID_TAXII_XML_10)
out["libtaxii_discovery_10"] = [d10.message_type, len(d10.service_instances)]
in10 = call(f"{base}/inbox/rw/", tm10.InboxMessage(message_id=tm10.generate_message_id(), content_blocks=[tm10.ContentBlock(C.CB_STIX_XML_111, contents[1])]), C.VID_TAXII_XML_10)
out["libtaxii_inbox_10"] = in10.status_type

# Byte for byte: the Content bytes libtaxii put on the wire come back unchanged in a raw Poll_Response.
marker = "byte-for-byte-" + tm11.generate_message_id()
sent = tm11.InboxMessage(message_id=tm11.generate_message_id(), destination_collection_names=["rw"],
                         content_blocks=[tm11.ContentBlock(C.CB_STIX_XML_12, STIX.format(n=marker))])
wire = sent.to_xml()
start = wire.index(b"<taxii_11:Content>") + len(b"<taxii_11:Content>")
inner = wire[start:wire.index(b"</taxii_11:Content>", start)]
ack = t.get_message_from_http_response(hc.call_taxii_service2(host, f"{base}/inbox/", C.VID_TAXII_XML_11, wire, port), sent.message_id)
pq = tm11.PollRequest(message_id=tm11.generate_message_id(), collection_name="rw", exclusive_begin_timestamp_label=labels[-1],
                      poll_parameters=tm11.PollRequest.PollParameters())
raw_poll = hc.call_taxii_service2(host, f"{base}/poll/", C.VID_TAXII_XML_11, pq.to_xml(), port).read()
out["raw_round_trip"] = [ack.status_type, inner in raw_poll, len(inner)]

inbox_server.shutdown()
print(json.dumps(out, default=str))
