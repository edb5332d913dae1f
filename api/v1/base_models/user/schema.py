"""OpenAPI: the token scheme of ``CachedTokenAuthentication`` (a django-rest-knox class, which
drf-spectacular does not describe by itself)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CachedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.v1.base_models.user.authentication.CachedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Token <key>`, the key from `POST /api/v1/auth/token/` "
                "(valid TOKEN_TTL, revoked by `POST /api/v1/auth/logout/`)."
            ),
        }
