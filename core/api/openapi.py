"""What the OpenAPI schema says beyond drf-spectacular's defaults (docs/api.md "OpenAPI").

- ``AutoSchema`` declares the ``X-Organization`` header on every organization-scoped operation
  (views that resolve their organization from it: ``OrganizationScopedMixin``).
- ``postprocess`` (a ``POSTPROCESSING_HOOKS`` entry) keeps exactly one security scheme,
  ``tokenAuth`` (``Authorization: Token <key>``, what the README shows), and adds the error
  responses each operation can really return, with their JSON bodies: 400 (validation, missing
  organization), 401, 403, 404, 409 (conflicts and business rules), 413, 415, 429.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

ORGANIZATION_PARAMETER = OpenApiParameter(
    "X-Organization",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Slug of the organization the request acts in (e.g. `acme`). Optional when you belong "
        "to exactly one organization; otherwise 400. Not a member: 403."
    ),
)

TOKEN_SCHEME = {
    "tokenAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "`Token <key>`: the word `Token`, a space, then the `token` that "
            "`POST /api/v1/auth/token/` returns. In Swagger's Authorize dialog type the whole "
            "value, e.g. `Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b`."
        ),
    }
}

ERROR_SCHEMAS = {
    "Error": {
        "type": "object",
        "description": "An error with a human-readable `detail` (and often a `code`).",
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "additionalProperties": True,
    },
    "ValidationError": {
        "type": "object",
        "description": "Field name (or `non_field_errors`, `organization`, a query parameter) "
        "-> list of messages; nested objects for nested fields.",
        "additionalProperties": True,
    },
}

ERRORS = {
    "400": ("ValidationError", "Invalid input: the body names each refused field."),
    "401": ("Error", "No or invalid `Authorization: Token <key>`."),
    "403": ("Error", "Authenticated, but not allowed (role, or not a member of the organization)."),
    "404": ("Error", "No such object in this organization (other organizations' are 404 too)."),
    "409": ("Error", "Conflict: a duplicate, or a business rule (e.g. not enough stock)."),
    "413": ("Error", "Body larger than the limit (uploads: MAX_UPLOAD_SIZE)."),
    "415": ("Error", "Unsupported Content-Type."),
    "429": ("Error", "Too many requests: retry after the `Retry-After` header's seconds."),
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _decimal_pattern(field) -> str:
    """A decimal string the field accepts: at least one digit, ``-`` only when negatives are."""
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    whole = field.max_whole_digits
    places = field.decimal_places
    whole_part = rf"\d{{1,{whole}}}" if whole else "0"
    if places:
        return rf"^{sign}{whole_part}(?:\.\d{{1,{places}}})?$"
    return rf"^{sign}{whole_part}$"


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        from rest_framework import serializers

        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            isinstance(field, serializers.DecimalField)
            and isinstance(schema, dict)
            and "pattern" in schema
        ):
            # drf-spectacular's pattern also matches "" and "-" (which DRF refuses) and allows a
            # sign on fields with min_value >= 0. Requests may also send a JSON number.
            schema["pattern"] = _decimal_pattern(field)
            if direction == "request":
                number = {"type": "number"}
                if field.min_value is not None:
                    number["minimum"] = float(field.min_value)
                if field.max_whole_digits:
                    number["exclusiveMaximum"] = True
                    number["maximum"] = 10**field.max_whole_digits
                return {"oneOf": [schema, number]}
        return schema

    def _get_serializer_field_meta(self, field, direction):
        """``many=True`` lists: their ``allow_empty=False`` / ``max_length`` as minItems/maxItems."""
        meta = super()._get_serializer_field_meta(field, direction)
        from rest_framework import serializers

        if isinstance(field, serializers.ListSerializer):
            if not field.allow_empty:
                meta["minItems"] = max(1, field.min_length or 1)
            elif field.min_length:
                meta["minItems"] = field.min_length
            if field.max_length is not None:
                meta["maxItems"] = field.max_length
        return meta

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        # Views that read the organization from the header (OrganizationScopedMixin's
        # get_organization_slug); the members endpoints take it from their path instead.
        resolver = getattr(type(self.view), "get_organization_slug", None)
        if resolver is not None and resolver.__qualname__.startswith("OrganizationScopedMixin."):
            parameters.append(ORGANIZATION_PARAMETER)
        return parameters


def _error_codes(path: str, method: str, operation: dict) -> list[str]:
    security = operation.get("security") or []
    anonymous_allowed = {} in security or not security
    parameters = operation.get("parameters", [])
    header_org = any(p.get("name") == "X-Organization" for p in parameters)
    codes = ["429"]
    if not anonymous_allowed:
        codes += ["401", "403"]
    if header_org:
        codes += ["400", "403"]
    if "{" in path or (method == "get" and any(p.get("name") == "page" for p in parameters)):
        codes += ["404"]  # no such object; a list page (or cursor) past the end
    if "requestBody" in operation:
        codes += ["400", "413", "415"]
    if method == "get" and any(p.get("in") == "query" for p in parameters):
        codes += ["400"]
    if method in WRITE_METHODS and not anonymous_allowed:
        codes += ["409"]
    return sorted(set(codes))


def _has_binary(schema: dict, schemas: dict) -> bool:
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return any(prop.get("format") == "binary" for prop in (schema.get("properties") or {}).values())


def postprocess(result, generator, request, public):
    components = result.setdefault("components", {})
    components["securitySchemes"] = dict(TOKEN_SCHEME)
    schemas = components.setdefault("schemas", {})
    for name, schema in ERROR_SCHEMAS.items():
        schemas.setdefault(name, schema)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            security = operation.get("security")
            if security:
                operation["security"] = [{"tokenAuth": []}] + ([{}] if {} in security else [])
            content = operation.get("requestBody", {}).get("content", {})
            multipart = content.get("multipart/form-data")
            if multipart and "application/json" in content:
                # Only uploads are multipart; a JSON body's nested lists/objects can't be sent
                # as form fields.
                if not _has_binary(multipart.get("schema", {}), schemas):
                    del content["multipart/form-data"]
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, method, operation):
                if code in responses:
                    continue
                schema_name, description = ERRORS[code]
                responses[code] = {
                    "description": description,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{schema_name}"}
                        }
                    },
                }
    return result
