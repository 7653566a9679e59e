"""GET /customers and /customers/<id>: the credit model's customer records, paged by id."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from jobqueue.settings import Settings
from models.credit import customers, dataset
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


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "cursor=abc", "cursor=-1", "id_prefix=10a", "id_prefix=-1"]
)
def test_bad_paging_query_is_422(idle_client: FlaskClient, query: str) -> None:
    response = idle_client.get(f"/customers?{query}")
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == query.split("=")[0]


def all_customer_ids(model_dir: Path) -> list[int]:
    manifest = store_at(model_dir).manifest("credit")
    return customers.all_ids(manifest.file_path("customers"), manifest.details["id_column"])


@pytest.mark.parametrize("prefix", ["1001", "10", "100002", "1"])
def test_customers_are_found_by_the_first_digits_of_their_id_page_by_page(
    idle_client: FlaskClient, model_dir: Path, prefix: str
) -> None:
    expected = [i for i in all_customer_ids(model_dir) if str(i).startswith(prefix)]
    found: list[int] = []
    cursor = ""
    for _ in range(len(expected) // 100 + 2):
        page = idle_client.get(f"/customers?id_prefix={prefix}&limit=100&cursor={cursor}").json
        found += [c["customer_id"] for c in page["customers"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Beyond the first page of the full list too: the search reaches every customer.
    assert found == expected and len(found) >= 1 and cursor is None


@pytest.mark.parametrize("prefix", ["2", "0", "01000", "999999999999999999"])
def test_a_prefix_no_customer_has_finds_none(idle_client: FlaskClient, prefix: str) -> None:
    assert idle_client.get(f"/customers?id_prefix={prefix}").json == {"customers": [], "next_cursor": None}


def test_the_search_reaches_the_last_customer(idle_client: FlaskClient, model_dir: Path) -> None:
    last = all_customer_ids(model_dir)[-1]
    page = idle_client.get(f"/customers?id_prefix={last}").json
    assert [c["customer_id"] for c in page["customers"]] == [last]


def test_id_prefix_is_in_the_openapi_spec(idle_client: FlaskClient) -> None:
    parameters = idle_client.get("/openapi.json").json["paths"]["/customers"]["get"]["parameters"]
    [search] = [p for p in parameters if p["name"] == "id_prefix"]
    assert search["in"] == "query" and re.fullmatch(search["schema"]["pattern"], "1003")


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
