"""GET /customers and /customers/<id>: the credit model's customer records, paged by id."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from jobqueue.settings import Settings
from models.credit import dataset
from tests.support.data import CREDIT_CUSTOMERS, registry_settings, store_at
from web.app import create_app


def test_customers_page_in_id_order_until_the_cursor_runs_out(idle_client: FlaskClient) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(CREDIT_CUSTOMERS // 100 + 2):
        page = idle_client.get("/customers?limit=100" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [c["customer_id"] for c in page["customers"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None and len(seen) == CREDIT_CUSTOMERS
    assert seen == sorted(set(seen)) and seen[0] == dataset.FIRST_ID


def test_small_pages_continue_where_the_last_one_ended(idle_client: FlaskClient) -> None:
    first = idle_client.get("/customers?limit=2").json
    second = idle_client.get(f"/customers?limit=3&cursor={first['next_cursor']}").json
    ids = [c["customer_id"] for c in first["customers"] + second["customers"]]
    assert len(ids) == 5 and ids == sorted(ids) and first["next_cursor"] == str(ids[1])
    assert idle_client.get("/customers").json["customers"][:5] == first["customers"] + second["customers"]


def test_one_customer_has_every_feature_with_null_for_missing(idle_client: FlaskClient, model_dir: Path) -> None:
    features = [f["name"] for f in store_at(model_dir).manifest("credit").details["features"]]
    page = idle_client.get("/customers?limit=50").json["customers"]
    response = idle_client.get(page[0]["links"]["self"])
    assert response.status_code == 200 and response.json == page[0]
    assert list(response.json["features"]) == features
    # Half the customers lack an EXT_SOURCE_1: the table keeps them as null.
    assert any(c["features"]["EXT_SOURCE_1"] is None for c in page)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/customers/1", "/customers/100003000000", "/customers/abc", "/customers/-5"])
def test_unknown_customer_is_404(idle_client: FlaskClient, path: str) -> None:
    response = idle_client.get(path)
    assert response.status_code == 404 and response.json["error"]["type"] == "unknown_customer"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=abc", "cursor=-1"])
def test_bad_paging_query_is_422(idle_client: FlaskClient, query: str) -> None:
    assert idle_client.get(f"/customers?{query}").status_code == 422


def test_customers_of_a_tampered_table_are_not_served(model_copy: Path, idle_settings: Settings) -> None:
    path = store_at(model_copy).manifest("credit").file_path("customers")
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    response = create_app(registry_settings(idle_settings, model_copy)).test_client().get("/customers")
    assert response.status_code == 503 and "sha256" in response.json["error"]["message"]


def test_customer_data_is_never_logged(idle_client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    customer = idle_client.get(f"/customers/{dataset.FIRST_ID}").json
    idle_client.get("/customers?limit=5")
    idle_client.post("/jobs", json={"model": "credit", "input": {"features": customer["features"]}})
    idle_client.post("/jobs", json={"model": "credit", "input": {"features": dict(customer["features"], X=1)}})
    amounts = [str(customer["features"][name]) for name in ("AMT_CREDIT", "AMT_INCOME_TOTAL", "DAYS_BIRTH")]
    assert not any(amount in caplog.text for amount in amounts)
