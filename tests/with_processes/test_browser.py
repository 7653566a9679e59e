"""The page at / and Swagger UI at /docs in headless Chromium, against gunicorn and a real worker.

Chromium is Debian's package (`apt-get install chromium`), driven by
Playwright through ``executable_path``: Playwright's own browser downloads are
not used. Screenshots go to ``artifacts/`` at the project root.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from jobqueue.settings import PROJECT_ROOT, Settings
from models.credit import customers
from models.store import ModelStore
from tests.support.archiving import drain
from tests.support.data import ACME, API_KEYS, SCREENSHOTS, registry_settings
from tests.support.missing import program
from tests.support.processes import WebProcess, WorkerProcess
from tests.support.servers import serve_app
from web.app import create_app

ARTIFACTS = PROJECT_ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    """Debian's chromium (browser downloads cannot work here)."""
    return program("chromium", "chromium-browser", package="chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module; each test gets its own context (cookies, storage)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def opened(browser: Browser, url: str, path: str = "/", viewport: dict[str, int] = DESKTOP) -> Iterator[Page]:
    """``url + path`` in a fresh context (its own storage); fails on any uncaught script error.

    Every request must go to the service itself: one to anywhere else (a CDN) is
    refused, and fails the test, as it would fail a user with no internet access.
    """
    context = browser.new_context(viewport=viewport)
    elsewhere: list[str] = []

    def only_the_service(route: Route) -> None:
        if route.request.url.startswith(url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_service)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + path)
    yield page
    context.close()
    assert errors == [], errors
    assert elsewhere == [], elsewhere


@pytest.fixture
def page(browser: Browser, web_server: WebProcess, worker_process: WorkerProcess) -> Iterator[Page]:
    """The page served by gunicorn, its jobs run by the real worker."""
    with opened(browser, web_server.url) as page:
        yield page


def shot(page: Page, name: str, full_page: bool = True) -> Path:
    """A screenshot (of the whole page, or of what the viewport shows) in artifacts/, listed at the end of the run."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    SCREENSHOTS.append(path)
    return path


def sign_up(page: Page) -> str:
    """Pick two interests and a city, submit, and return what the page shows once the job is done."""
    page.wait_for_selector("#interests input[value='surfing']")
    page.check("#interests input[value='surfing']")
    page.check("#interests input[value='python']")
    page.fill("#city", "Lisbon")
    page.click("#signup-submit")
    page.wait_for_selector("#signup-result[data-status='succeeded']", timeout=30_000)
    return page.inner_text("#signup-result")


def test_signup_shows_the_cluster_and_room(page: Page) -> None:
    result = sign_up(page)
    assert "Cluster" in result and "lisbon-" in result
    # The live tables show the job and both queues.
    page.wait_for_selector("#jobs-table tbody tr.succeeded", timeout=10_000)
    assert page.locator("#queues-table tbody tr").count() == 2
    shot(page, "signup")


def test_credit_scoring_and_both_explanations(page: Page) -> None:
    page.wait_for_selector("#customer-ids option", state="attached")
    page.click("#score")
    page.wait_for_selector("#credit-result[data-status='succeeded'] .decision", timeout=30_000)
    # The slider moves the decision at once: nobody is refused at 1, everyone at 0.
    page.fill("#threshold", "1")
    assert page.inner_text("#credit-result .decision") == "accepted"
    page.fill("#threshold", "0")
    assert page.inner_text("#credit-result .decision") == "refused"

    page.click("#explain-local")
    page.wait_for_selector("#local-chart[data-status='succeeded'] svg", timeout=60_000)
    assert page.locator("#local-chart rect.bar").count() >= 5
    assert page.locator("#local-chart rect.bar.positive, #local-chart rect.bar.negative").count() >= 5

    page.fill("#sample-size", "1000")
    page.click("#global-start")
    page.wait_for_selector("#global-chart[data-status='succeeded'] svg", timeout=60_000)
    assert "1000 / 1000" in page.inner_text("#global-progress")
    assert page.eval_on_selector("#global-bar", "bar => bar.style.width") == "100%"
    assert page.locator("#global-chart rect.bar.plain").count() >= 5
    shot(page, "credit")


def test_with_auth_on_the_page_asks_for_a_key_and_works_with_it(
    browser: Browser, settings: Settings, worker_process: WorkerProcess
) -> None:
    with serve_app(create_app(settings.replace(api_keys=API_KEYS))) as url, opened(browser, url) as page:
        page.wait_for_selector("#notice:not([hidden])")
        assert "API key" in page.inner_text("#notice")
        page.fill("#api-key", ACME)
        with page.expect_request(lambda request: request.url.endswith("/models/interests")) as sent:
            page.click("#key-form button")
        assert sent.value.headers.get("authorization") == f"Bearer {ACME}"
        assert "lisbon-" in sign_up(page)
        page.wait_for_selector("#jobs-table tbody tr.succeeded", timeout=10_000)
        assert page.is_hidden("#notice")
        shot(page, "with-key")


def test_a_blank_city_is_refused_at_the_field_and_the_card_is_ready_again(page: Page) -> None:
    page.wait_for_selector("#interests input[value='surfing']")
    page.check("#interests input[value='surfing']")
    page.fill("#city", "")
    page.click("#signup-submit")
    page.wait_for_selector("#signup-result[data-status='invalid']", timeout=10_000)
    # The server's words, beside the field they concern and in the notice; nothing left waiting.
    assert "at least 1 character" in page.inner_text(".field-error[data-for='input.city']")
    assert page.get_attribute("#city", "aria-invalid") == "true"
    assert "input.city: String should have at least 1 character" in page.inner_text("#notice")
    assert "Waiting" not in page.inner_text("#signup-result")
    assert page.is_enabled("#signup-submit")
    shot(page, "refused-city")
    # Corrected, the same card signs the user up and forgets the refusal.
    page.fill("#city", "Lisbon")
    page.click("#signup-submit")
    page.wait_for_selector("#signup-result[data-status='succeeded']", timeout=30_000)
    assert page.locator(".field-error").count() == 0 and page.is_hidden("#notice")


def choose_customer(page: Page, customer_id: int) -> None:
    """Type ``customer_id`` into the credit card's customer field, once the page has loaded."""
    page.wait_for_selector("#customer-ids option", state="attached")
    page.fill("#customer", str(customer_id))


@pytest.mark.parametrize(("button", "result"), [("#score", "#credit-result"), ("#explain-local", "#local-chart")])
def test_an_unknown_customer_is_refused_at_the_field_for_score_and_explain(
    page: Page, button: str, result: str
) -> None:
    choose_customer(page, 1)
    page.click(button)
    page.wait_for_selector(f"{result}:not([data-status='']):not([data-status='queued'])", timeout=30_000)
    assert page.get_attribute(result, "data-status") == "invalid", page.inner_text(result)
    assert "unknown customer 1; GET /customers lists them" in page.inner_text(
        ".field-error[data-for='input.customer_id']"
    )
    assert "input.customer_id: unknown customer 1" in page.inner_text("#notice")
    assert "…" not in page.inner_text(result)  # neither "Scoring…" nor "Explaining…" stays
    assert page.is_enabled(button)


def test_a_wrong_api_key_is_said_to_be_refused(
    browser: Browser, settings: Settings, worker_process: WorkerProcess
) -> None:
    with serve_app(create_app(settings.replace(api_keys=API_KEYS))) as url, opened(browser, url) as page:
        page.wait_for_selector("#notice:not([hidden])")
        page.fill("#api-key", "not-a-key-of-this-service")
        page.click("#key-form button")
        page.wait_for_selector("#notice:has-text('refused')")
        assert "The API key was refused (the API key is not valid)" in page.inner_text("#notice")
        assert page.get_attribute("#api-key", "aria-invalid") == "true"
        shot(page, "refused-key")
        page.fill("#api-key", ACME)
        page.click("#key-form button")
        page.wait_for_selector("#notice", state="hidden")
        assert page.get_attribute("#api-key", "aria-invalid") is None


@pytest.mark.parametrize(("width", "height"), [(390, 844), (360, 740)])
def test_a_phone_never_scrolls_sideways(
    browser: Browser, web_server: WebProcess, worker_process: WorkerProcess, width: int, height: int
) -> None:
    with opened(browser, web_server.url, viewport={"width": width, "height": height}) as page:
        sign_up(page)
        page.wait_for_selector("#customer-ids option", state="attached")
        page.click("#score")
        page.wait_for_selector("#credit-result[data-status='succeeded'] .decision", timeout=30_000)
        page.click("#explain-local")
        page.wait_for_selector("#local-chart[data-status='succeeded'] svg", timeout=60_000)
        page.wait_for_selector("#jobs-table tbody tr.succeeded", timeout=10_000)
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client == width
        # The wide jobs table scrolls inside its card instead.
        assert page.eval_on_selector("#jobs .table-scroll", "box => getComputedStyle(box).overflowX") == "auto"
        # The chart is drawn for the phone, not shrunk from a desktop drawing: its 12 px text stays 12 px.
        drawn, shown = page.eval_on_selector(
            "#local-chart svg", "svg => [svg.viewBox.baseVal.width, svg.getBoundingClientRect().width]"
        )
        assert drawn == shown
        shot(page, f"phone-{width}x{height}")


def test_any_customer_is_found_by_id_and_explained_in_words(page: Page, settings: Settings) -> None:
    manifest = ModelStore.for_settings(settings).manifest("credit")
    last = customers.all_ids(manifest.file_path("customers"), manifest.details["id_column"])[-1]
    choose_customer(page, int(str(last)[:4]))
    # The suggestions come from the service's search: ids starting with what was typed.
    page.wait_for_function(
        "digits => [...document.querySelectorAll('#customer-ids option')].every(o => o.value.startsWith(digits))"
        " && document.querySelectorAll('#customer-ids option').length > 0",
        arg=str(last)[:4],
    )
    # The last of the customers, far beyond the first page of the list, is scored and explained.
    page.fill("#customer", str(last))
    page.click("#score")
    page.wait_for_selector("#credit-result[data-status='succeeded'] .decision", timeout=30_000)
    assert f"Customer {last}: probability of default" in page.inner_text("#credit-result")
    page.click("#explain-local")
    page.wait_for_selector("#local-chart[data-status='succeeded'] svg", timeout=60_000)
    title = page.inner_text("#local-chart h3")
    assert title.startswith(f"Customer {last}: average applicant ") and "\u00a0% → this applicant " in title
    # The applicant's probability is the one scoring gave.
    scored = page.inner_text("#credit-result").split("probability of default ")[1].split("\u00a0%")[0]
    assert title.endswith(f"this applicant {scored}\u00a0%")
    # Bars are labelled from the manifest, each with this applicant's value: no column codes.
    labels = page.locator("#local-chart text.label").all_text_contents()
    names = {f["label"] for f in manifest.details["features"]}
    assert len(labels) == 12 and all(text.split("  ")[0] in names for text in labels)
    notes = page.locator("#local-chart tspan.note").all_text_contents()
    assert len(notes) == 12 and all(note.strip() for note in notes)
    assert not any(text.isupper() for text in labels)
    shot(page, "explained")


@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "docs-desktop"), (PHONE, "docs-phone")])
def test_docs_show_every_operation_offline_and_the_job_example(
    browser: Browser, web_server: WebProcess, viewport: dict[str, int], name: str
) -> None:
    with urllib.request.urlopen(web_server.url + "/openapi.json", timeout=10) as response:
        spec = json.load(response)
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    with opened(browser, web_server.url, "/docs", viewport) as page:
        page.wait_for_selector(".opblock", timeout=15_000)
        shot(page, f"{name}-operations", full_page=False)
        shown = {
            (
                block.locator(".opblock-summary-method").inner_text(),
                block.locator(".opblock-summary-path").get_attribute("data-path"),
            )
            for block in page.locator(".opblock").all()
        }
        assert shown == operations
        submit = page.locator("#operations-default-submitJob")
        submit.locator(".opblock-summary-control").click()
        example = submit.locator(".opblock-section-request-body .body-param__example")
        example.wait_for(timeout=10_000)
        assert json.loads(example.inner_text()) == spec["components"]["schemas"]["JobRequest"]["examples"][0]
        # Swagger UI is one long page: the list of operations, then POST /jobs open at its example.
        example.scroll_into_view_if_needed()
        shot(page, f"{name}-submit-job", full_page=False)


def test_drift_shows_the_drifting_feature_in_red_on_a_desktop_and_a_phone(
    browser: Browser, settings: Settings, model_copy: Path, worker_process: WorkerProcess
) -> None:
    archived = registry_settings(settings, model_copy)  # an archive of its own
    app = create_app(archived)
    client = app.test_client()
    applicants: list[dict[str, Any]] = []
    while len(applicants) < 300:  # enough records for sampling noise to stay well below the threshold
        cursor = f"&cursor={applicants[-1]['customer_id']}" if applicants else ""
        applicants += client.get(f"/customers?limit=100{cursor}").json["customers"]
    shifted = [
        {"features": {**c["features"], "AMT_INCOME_TOTAL": 3 * c["features"]["AMT_INCOME_TOTAL"]}} for c in applicants
    ]
    assert client.post("/jobs?wait=30", json={"model": "credit", "inputs": shifted}).json["status"] == "succeeded"
    assert drain(archived) == 1
    with serve_app(app) as url, opened(browser, url) as page:
        page.wait_for_selector("#drift-chart[data-status='succeeded'] svg", timeout=30_000)
        assert "Drifting (PSI above 0.25): Annual income\n" in page.inner_text("#drift-summary")
        assert page.locator("#drift-chart rect.bar.flagged").count() == 1
        assert page.locator("#drift-chart text.label").first.text_content() == "Annual income"
        shot(page, "drift")
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("#drift-compare")  # drawn again at the phone's width
        page.wait_for_function(
            "() => { const svg = document.querySelector('#drift-chart svg');"
            " return svg && svg.viewBox.baseVal.width < 390; }",
            timeout=30_000,
        )
        scroll, width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= width == 390
        drawn, shown = page.eval_on_selector(
            "#drift-chart svg", "svg => [svg.viewBox.baseVal.width, svg.getBoundingClientRect().width]"
        )
        assert drawn == shown
        shot(page, "drift-phone-390")
