"""The page at / and Swagger UI at /docs in headless Chromium, against gunicorn and a real worker.

Chromium is Debian's package (`apt-get install chromium`), driven by
Playwright through ``executable_path``: Playwright's own browser downloads are
not used. Screenshots go to ``artifacts/`` at the project root.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from jobqueue.settings import PROJECT_ROOT, Settings
from tests.support.data import ACME, API_KEYS, SCREENSHOTS
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
    """Debian's chromium; missing fails the run in CI (where .ci/run installs it) and skips locally."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "no chromium on PATH: apt-get install -y --no-install-recommends chromium"
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run installs it when CI is set)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module; each test gets its own context (cookies, storage)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
    page.wait_for_selector("#customer option[value]", state="attached")
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
