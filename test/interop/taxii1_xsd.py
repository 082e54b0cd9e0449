"""Validates TAXII 1.x messages against the official XML schemas (as shipped with libtaxii).

Reads a JSON array of XML documents on stdin; prints a JSON array with, for each document, null
when it is valid or the schema errors. Run by the TAXII 1.x tests; not a test on its own.
"""
import json
import os
import sys

import libtaxii
from lxml import etree

XSD_DIR = os.path.join(os.path.dirname(libtaxii.__file__), "xsd")
SCHEMAS = {
    "http://taxii.mitre.org/messages/taxii_xml_binding-1": "TAXII_XMLMessageBinding_Schema.xsd",
    "http://taxii.mitre.org/messages/taxii_xml_binding-1.1": "TAXII_XMLMessageBinding_Schema_11.xsd",
}
loaded = {ns: etree.XMLSchema(etree.parse(os.path.join(XSD_DIR, f))) for ns, f in SCHEMAS.items()}
parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)

out = []
for doc in json.load(sys.stdin):
    try:
        root = etree.fromstring(doc.encode("utf-8"), parser)
    except etree.XMLSyntaxError as e:
        out.append([f"not well-formed: {e}"])
        continue
    ns = etree.QName(root).namespace
    schema = loaded.get(ns)
    if schema is None:
        out.append([f"not a TAXII 1.x message: {{{ns}}}{etree.QName(root).localname}"])
    elif schema.validate(root):
        out.append(None)
    else:
        out.append([str(e) for e in schema.error_log][:5])
print(json.dumps(out))
