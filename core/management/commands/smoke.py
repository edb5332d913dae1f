"""``manage.py smoke [--base-url URL]``: end-to-end checks of a running deployment over HTTP.

As the dedicated smoke user (``SMOKE_USERNAME``/``SMOKE_PASSWORD``) in the smoke organization
(``SMOKE_ORGANIZATION``), against ``--base-url`` (default ``SMOKE_BASE_URL``):

1. login (``POST /api/v1/auth/token/``);
2. list products (the smoke product ``SMOKE-0001`` is created the first time);
3. place an order for one of it, 4. cancel it (stock goes back);
5. run a products export and download it (needs a worker on the ``exports`` queue);
6. upload a small text file, 7. delete it.

Each step prints ``ok`` with its time; the first failing step prints ``FAILED <step>: <why>``
and the command exits 1. Objects it creates live only in the smoke organization.

``manage.py smoke --setup`` (run once per environment, on a host with the database settings)
creates the smoke organization and user (owner role) with ``SMOKE_PASSWORD``; idempotent.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

SMOKE_SKU = "SMOKE-0001"


class SmokeFailure(Exception):
    pass


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise SmokeFailure(f"not JSON (HTTP {self.status}): {self.body[:200]!r}") from exc


class Api:
    def __init__(self, base_url: str, *, organization: str, timeout: float):
        self.base = base_url.rstrip("/")
        self.organization = organization
        self.timeout = timeout
        self.token: str | None = None

    def request(self, method: str, path: str, *, data=None, body=None, content_type=None):
        headers = {"Accept": "application/json", "X-Organization": self.organization}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        if data is not None:
            body, content_type = json.dumps(data).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        url = path if path.startswith("http") else f"{self.base}{path}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return Response(answer.status, answer.read(), dict(answer.headers))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read(), dict(exc.headers))
        except (urllib.error.URLError, OSError) as exc:
            raise SmokeFailure(f"{method} {url}: {getattr(exc, 'reason', exc)}") from exc

    def expect(self, response: Response, *statuses: int, what: str) -> Response:
        if response.status not in statuses:
            raise SmokeFailure(
                f"{what}: HTTP {response.status} (expected {'/'.join(map(str, statuses))}): "
                f"{response.body[:300].decode(errors='replace')}"
            )
        return response


def _multipart(field: str, filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = f"smoke-{uuid.uuid4().hex}"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Smoke:
    """The steps, in order; each returns a short detail for the ``ok`` line."""

    def __init__(self, api: Api, *, username: str, password: str, export_timeout: float):
        self.api = api
        self.username = username
        self.password = password
        self.export_timeout = export_timeout
        self.product_id = None
        self.order_id = None
        self.file_id = None

    def steps(self):
        return [
            ("login", self.login),
            ("list products", self.list_products),
            ("place order", self.place_order),
            ("cancel order", self.cancel_order),
            ("export", self.export),
            ("upload file", self.upload_file),
            ("delete file", self.delete_file),
        ]

    def login(self) -> str:
        api = self.api
        answer = api.request(
            "POST",
            "/api/v1/auth/token/",
            data={"username": self.username, "password": self.password},
        )
        token = api.expect(answer, 200, what="token").json().get("token")
        if not token:
            raise SmokeFailure("no token in the answer")
        api.token = token
        return f"as {self.username}" + (
            f" ({answer.headers.get('X-Environment')})"
            if answer.headers.get("X-Environment")
            else ""
        )

    def list_products(self) -> str:
        api = self.api
        page = api.expect(
            api.request("GET", f"/api/v1/products/?sku={SMOKE_SKU}"), 200, what="product list"
        ).json()
        results = page.get("results", page) if isinstance(page, dict) else page
        match = [p for p in results if p.get("sku") == SMOKE_SKU]
        if match:
            self.product_id = match[0]["id"]
            return f"{SMOKE_SKU} is #{self.product_id}"
        created = api.expect(
            api.request(
                "POST",
                "/api/v1/products/",
                data={
                    "sku": SMOKE_SKU,
                    "name": "Smoke test product",
                    "price": "1.00",
                    "stock": 1000,
                },
            ),
            201,
            what="create the smoke product",
        ).json()
        self.product_id = created["id"]
        return f"created {SMOKE_SKU} #{self.product_id}"

    def place_order(self) -> str:
        api = self.api
        order = api.expect(
            api.request(
                "POST",
                "/api/v1/orders/",
                data={
                    "lines": [{"product": self.product_id, "quantity": 1}],
                    "metadata": {"smoke": True},
                },
            ),
            201,
            what="order",
        ).json()
        self.order_id = order["id"]
        return f"order #{self.order_id}"

    def cancel_order(self) -> str:
        api = self.api
        order = api.expect(
            api.request("POST", f"/api/v1/orders/{self.order_id}/cancel/"), 200, what="cancel"
        ).json()
        if order.get("status") != "cancelled":
            raise SmokeFailure(f"order #{self.order_id} is {order.get('status')!r}, not cancelled")
        return f"order #{self.order_id} cancelled"

    def export(self) -> str:
        api = self.api
        export = api.expect(
            api.request("POST", "/api/v1/exports/", data={"kind": "products", "format": "csv"}),
            202,
            what="start export",
        ).json()
        deadline = time.monotonic() + self.export_timeout
        while export.get("status") in ("pending", "running"):
            if time.monotonic() > deadline:
                raise SmokeFailure(
                    f"export #{export['id']} still {export['status']} after "
                    f"{self.export_timeout:g}s: is a worker consuming the exports queue?"
                )
            time.sleep(0.5)
            export = api.expect(
                api.request("GET", f"/api/v1/exports/{export['id']}/"), 200, what="export status"
            ).json()
        if export.get("status") != "done":
            raise SmokeFailure(
                f"export #{export['id']} {export.get('status')}: {export.get('error')}"
            )
        csv = api.expect(api.request("GET", export["download_url"]), 200, what="export download")
        if SMOKE_SKU.encode() not in csv.body:
            raise SmokeFailure(f"export #{export['id']} does not contain {SMOKE_SKU}")
        return f"export #{export['id']}: {export.get('row_count')} rows"

    def upload_file(self) -> str:
        api = self.api
        body, content_type = _multipart(
            "file", "smoke.txt", f"smoke check {uuid.uuid4().hex}\n".encode(), "text/plain"
        )
        stored = api.expect(
            api.request("POST", "/api/v1/files/", body=body, content_type=content_type),
            201,
            what="upload",
        ).json()
        self.file_id = stored["id"]
        return f"file #{self.file_id}"

    def delete_file(self) -> str:
        api = self.api
        api.expect(api.request("DELETE", f"/api/v1/files/{self.file_id}/"), 204, what="delete")
        api.expect(
            api.request("GET", f"/api/v1/files/{self.file_id}/"), 404, what="deleted file gone"
        )
        return f"file #{self.file_id} deleted"


def ensure_smoke_account(*, username: str, password: str, organization: str) -> tuple[bool, bool]:
    """Create (or update the password of) the smoke user, its organization and owner role."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from core.permissions.enums import RoleName
    from core.tenancy.swappable import get_membership_model, get_organization_model, get_role_model

    with transaction.atomic():
        org, org_created = get_organization_model().objects.get_or_create(
            slug=organization, defaults={"name": "Smoke checks"}
        )
        user, user_created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@smoke.invalid"}
        )
        user.set_password(password)
        user.save()
        get_membership_model().objects.update_or_create(
            user=user,
            organization=org,
            defaults={"role": get_role_model().objects.get(name=RoleName.OWNER)},
        )
    return org_created, user_created


class Command(BaseCommand):
    help = "End-to-end smoke checks of a running deployment over HTTP (login, products, order, "
    "export, files); exits 1 and names the failing step."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=None,
            help="the deployment to check (default: SMOKE_BASE_URL, e.g. https://staging.example.com)",
        )
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
        parser.add_argument(
            "--export-timeout", type=float, default=60.0, help="seconds to wait for the export"
        )
        parser.add_argument(
            "--setup",
            action="store_true",
            help="create/update the smoke organization and user in this database, then exit",
        )

    def handle(self, *args, base_url, timeout, export_timeout, setup, **options):
        username, password = settings.SMOKE_USERNAME, settings.SMOKE_PASSWORD
        organization = settings.SMOKE_ORGANIZATION
        if not password:
            raise CommandError(
                "SMOKE_PASSWORD is not set: set it (a secret) in the environment, run "
                "`manage.py smoke --setup` once on this environment, then `manage.py smoke`."
            )
        if setup:
            org_created, user_created = ensure_smoke_account(
                username=username, password=password, organization=organization
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Smoke account ready: user {username} ({'created' if user_created else 'updated'}),"
                    f" organization {organization} ({'created' if org_created else 'kept'}), role owner."
                )
            )
            return
        base_url = base_url or settings.SMOKE_BASE_URL
        if not base_url:
            raise CommandError("No --base-url and no SMOKE_BASE_URL: which deployment to check?")
        api = Api(base_url, organization=organization, timeout=timeout)
        smoke = Smoke(api, username=username, password=password, export_timeout=export_timeout)
        self.stdout.write(f"Smoke checks of {api.base} (organization {organization}):")
        started = time.monotonic()
        for number, (name, step) in enumerate(smoke.steps(), start=1):
            step_started = time.monotonic()
            try:
                detail = step()
            except (SmokeFailure, KeyError, TypeError) as exc:
                self.stdout.write(self.style.ERROR(f"  FAILED {name}: {exc}"))
                raise CommandError(
                    f"smoke step {number} '{name}' failed: {exc}\nSteps before it passed; fix this "
                    "one (see docs/deploy.md 'Staging') and run `manage.py smoke` again."
                ) from exc
            ms = (time.monotonic() - step_started) * 1000
            self.stdout.write(f"  ok {name} ({ms:.0f} ms): {detail}")
        self.stdout.write(
            self.style.SUCCESS(
                f"All {len(smoke.steps())} smoke steps passed in {time.monotonic() - started:.1f} s."
            )
        )
