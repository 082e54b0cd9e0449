"""Writes taxiway.json (rates use Grafana's $__rate_interval), the Grafana dashboard of the chart. Run: python3 build.py (the JSON is committed)."""
import json, os

DS = {"type": "prometheus", "uid": "${datasource}"}
R = '{api_root=~"$api_root"}'
panels, y = [], 0


def panel(title, exprs, kind="timeseries", unit="short", w=12, h=8, legend="{{api_root}}/{{collection}}", extra=None):
    global y
    x = 0 if not panels or panels[-1]["gridPos"]["x"] + panels[-1]["gridPos"]["w"] + w > 24 else panels[-1]["gridPos"]["x"] + panels[-1]["gridPos"]["w"]
    if x == 0 and panels:
        y += panels[-1]["gridPos"]["h"]
    p = {
        "id": len(panels) + 1,
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": l or legend, **({"format": "table", "instant": True} if kind == "table" else {})} for i, (e, l) in enumerate(exprs)],
    }
    if extra:
        p.update(extra)
    panels.append(p)


panel("Objects ingested /s per collection", [(f"sum by (api_root, collection) (rate(taxiway_objects_ingested_total{R}[$__rate_interval]))", None)], unit="ops")
panel("Objects served /s per collection", [(f"sum by (api_root, collection) (rate(taxiway_objects_served_total{R}[$__rate_interval]))", None)], unit="ops")
panel("Bytes in and out /s", [(f"sum by (api_root) (rate(taxiway_ingested_bytes_total{R}[$__rate_interval]))", "in {{api_root}}"), (f"sum by (api_root) (rate(taxiway_served_bytes_total{R}[$__rate_interval]))", "out {{api_root}}")], unit="Bps")
panel("Top consumers (objects served, last hour)", [(f'topk(10, sum by (api_root, principal) (increase(taxiway_consumer_objects_served_total{R}[1h])))', "{{api_root}} {{principal}}")], kind="bargauge", extra={"options": {"orientation": "horizontal", "displayMode": "gradient"}})
panel(
    "Consumers by time since last poll",
    [(f"sort_desc(time() - max by (api_root, principal) (taxiway_consumer_last_poll_timestamp_seconds{R}))", None)],
    kind="table",
    unit="s",
    w=12,
    legend="{{api_root}} {{principal}}",
)
panel("Ingest failures /s by reason", [(f"sum by (api_root, collection, reason) (rate(taxiway_ingest_failures_total{R}[$__rate_interval]))", "{{api_root}}/{{collection}} {{reason}}")], unit="ops")
panel("Error ratio (5xx) and 4xx by reason", [('sum(rate(taxiway_http_requests_total{status=~"5.."}[$__rate_interval])) / sum(rate(taxiway_http_requests_total[$__rate_interval]))', "5xx ratio"), ("sum by (reason) (rate(taxiway_http_client_errors_total[$__rate_interval])) / scalar(sum(rate(taxiway_http_requests_total[$__rate_interval])))", "{{reason}}")], unit="percentunit")
panel("Latency by route (p50, p99)", [("histogram_quantile(0.5, sum by (le, route) (rate(taxiway_http_request_duration_seconds_bucket[$__rate_interval])))", "p50 {{route}}"), ("histogram_quantile(0.99, sum by (le, route) (rate(taxiway_http_request_duration_seconds_bucket[$__rate_interval])))", "p99 {{route}}")], unit="s")
panel("Requests /s by status", [("sum by (status) (rate(taxiway_http_requests_total[$__rate_interval]))", "{{status}}")], unit="reqps")
panel("Pages served /s by endpoint", [(f"sum by (endpoint) (rate(taxiway_pages_served_total{R}[$__rate_interval]))", "{{endpoint}}")], unit="reqps")
panel("Database pool", [("sum by (state) (taxiway_db_pool_connections)", "{{state}}"), ("sum(taxiway_db_pool_max_connections)", "max")])
panel("Storage operation p99", [("histogram_quantile(0.99, sum by (le, operation) (rate(taxiway_db_operation_duration_seconds_bucket[$__rate_interval])))", "{{operation}}")], unit="s")
panel("TAXII 1.x exchanges /s by answer", [(f"sum by (version, message, answer) (rate(taxiway_taxii1_messages_total{R}[$__rate_interval]))", "{{version}} {{message}} → {{answer}}")], unit="reqps")
panel(
    "TAXII 1.x push: deliveries /s and outbox",
    [
        (f"sum by (result) (rate(taxiway_taxii1_push_deliveries_total{R}[$__rate_interval]))", "{{result}} /s"),
        ("sum by (state) (max by (state) (taxiway_taxii1_outbox_entries))", "outbox {{state}}"),
        ("max(taxiway_taxii1_outbox_oldest_pending_age_seconds)", "oldest pending (s)"),
    ],
)

dashboard = {
    "uid": "taxiway-sharing",
    "title": "Taxiway — sharing volume",
    "description": "Ingest and serve rates per tenant and collection, consumers, errors, latency, database",
    "tags": ["taxiway", "taxii"],
    "timezone": "utc",
    "schemaVersion": 39,
    "version": 1,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "templating": {
        "list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "api_root", "type": "query", "datasource": DS, "query": "label_values(taxiway_objects_served_total, api_root)", "includeAll": True, "multi": True, "current": {"text": "All", "value": "$__all"}, "allValue": ".*", "label": "API root", "refresh": 2},
        ]
    },
    "panels": panels,
}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "taxiway.json"), "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
