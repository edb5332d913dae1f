"""List pagination: ``?page=``/``?page_size=`` (default 50, capped at 200), or ``?cursor=``.

Page mode answers ``{"count", "count_is_estimate", "next", "previous", "results"}``, like DRF's
page-number pagination with these differences:

- a ``page_size`` that is not a positive integer is a 400 naming the parameter (DRF silently
  falls back to the default), and a page past the end is a 404 that says how many results there
  are;
- the count is exact up to ``API_PAGINATION_EXACT_COUNT_LIMIT`` rows (default 10,000): it is
  taken as ``COUNT(*)`` over at most that many rows + 1, so it costs the same whether the
  organization has 10 thousand or 10 million rows. Above it the count is PostgreSQL's planner
  estimate and ``count_is_estimate`` is true (``next`` is then decided by reading one row more);
- pages reaching past ``API_PAGINATION_MAX_OFFSET`` rows (default 10,000) answer 400 pointing at
  cursor mode: an OFFSET that deep would read and throw away that many rows per request.

Cursor mode (DRF's ``CursorPagination``): ``?cursor=`` (empty for the first page), then follow
``next``/``previous``. It orders by the view's default ordering (the primary key) and costs the
same on every page; it answers ``{"next", "previous", "results"}`` and refuses ``?ordering=``.

One query per page in page mode for organizations under the limit: the page's rows carry the
bounded count as a scalar subquery (``(SELECT COUNT(*) FROM (... LIMIT limit+1))``, run once);
two above it (that, then the estimate); an empty page asks for the count on its own. (A
``COUNT(*) OVER ()`` window was measured slower under load: it makes PostgreSQL read every
matching row, where the subquery stops at the limit.)
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db.models import BigIntegerField
from django.db.models.expressions import RawSQL
from django.db.models.query import NamedValuesListIterable
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

# The annotation carrying the bounded count on the page's rows (see _page_and_bounded_count).
BOUNDED_COUNT = "pagination_bounded_count"


def estimated_count(queryset) -> int:
    """The planner's row estimate for ``queryset`` (``EXPLAIN``: plans, reads no rows)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class _Cursor(pagination.CursorPagination):
    page_size = 50

    def __init__(self, ordering, page_size: int):
        self.ordering, self.page_size = ordering, page_size

    def get_ordering(self, request, queryset, view):
        return self.ordering


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = "cursor"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({"page_size": ["Must be a positive integer."]})
        return min(size, self.max_page_size)

    def get_page_number_value(self, request) -> int:
        raw = request.query_params.get(self.page_query_param, "1")
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise NotFound(f"Invalid page {raw!r}: pages start at 1.")
        return number

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.size = self.get_page_size(request)
        self.cursor = None
        if self.cursor_query_param in request.query_params:
            return self._paginate_by_cursor(queryset, request, view)
        self.number = self.get_page_number_value(request)
        offset = (self.number - 1) * self.size
        max_offset = settings.API_PAGINATION_MAX_OFFSET
        if offset + self.size > max_offset:
            raise ValidationError(
                {
                    self.page_query_param: [
                        f"Pages reaching past result {max_offset} are not served: follow "
                        f"?{self.cursor_query_param}= pagination instead (docs/api.md)."
                    ]
                }
            )
        limit = settings.API_PAGINATION_EXACT_COUNT_LIMIT
        page, bounded = self._page_and_bounded_count(queryset, offset, limit)
        if bounded is None:  # an empty page carries no count: ask for it alone
            bounded = self._bounded_count(queryset, limit).count()
        self.count = bounded
        self.count_is_estimate = bounded > limit
        if self.count_is_estimate:
            self.count = max(estimated_count(queryset), bounded)
            self.has_next = len(page) > self.size
            if offset and not page:
                raise NotFound(f"Invalid page {self.number}: there are no more results.")
            return page[: self.size]
        if offset and offset >= self.count:
            raise NotFound(f"Invalid page {self.number}: there are only {self.count} results.")
        self.has_next = self.number * self.size < self.count
        return page[: self.size]

    @staticmethod
    def _bounded_count(queryset, limit: int):
        # values("pk"): rows may be a values_list of every column (core.api.lists); the count
        # needs only the index (an index-only scan over the organization's rows).
        return queryset.order_by().values("pk")[: limit + 1]

    def _page_and_bounded_count(self, queryset, offset: int, limit: int):
        """The page (one row more, for ``has_next`` above the limit) and the bounded count, in
        one query: the count is an uncorrelated scalar subquery PostgreSQL runs once, selected
        with every row. Returns ``(rows, None)`` when the page is empty or the queryset can't
        take the extra column (then ``paginate_queryset`` counts separately)."""
        window = slice(offset, offset + self.size + 1)
        named = queryset._iterable_class is NamedValuesListIterable
        if queryset.query.combinator or (queryset._fields is not None and not named):
            return list(queryset[window]), None
        sql, params = self._bounded_count(queryset, limit).query.sql_with_params()
        total = RawSQL(
            f"SELECT COUNT(*) FROM ({sql}) AS bounded", params, output_field=BigIntegerField()
        )
        rows = queryset.annotate(**{BOUNDED_COUNT: total})
        if named:  # the extra column becomes the rows' last field
            rows = rows.values_list(*queryset._fields, BOUNDED_COUNT, named=True)
        page = list(rows[window])
        return page, (getattr(page[0], BOUNDED_COUNT) if page else None)

    def _paginate_by_cursor(self, queryset, request, view):
        if request.query_params.get("ordering"):
            raise ValidationError(
                {"ordering": ["Cursor pagination has a fixed order (by id): drop ?ordering=."]}
            )
        ordering = tuple(getattr(view, "ordering", None) or queryset.model._meta.ordering or ["pk"])
        # Rows may be values_list tuples (core.api.lists), which know the primary key only by
        # its column name: the cursor reads its position from the first ordering field.
        pk_name = queryset.model._meta.pk.attname
        ordering = tuple(
            {"pk": pk_name, "-pk": f"-{pk_name}"}.get(field, field) for field in ordering
        )
        self.cursor = _Cursor(ordering, self.size)
        return self.cursor.paginate_queryset(queryset, request, view)

    def get_next_link(self):
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self):
        if self.number == 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data):
        if self.cursor is not None:
            return self.cursor.get_paginated_response(data)
        return Response(
            {
                "count": self.count,
                "count_is_estimate": self.count_is_estimate,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        """What the API refuses, the schema forbids: page and page_size are positive."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Results per page (default {self.page_size}; above {self.max_page_size} "
                    f"gives {self.max_page_size})."
                )
        parameters.append(
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a previous page's `next` link (cursor mode).",
                "schema": {"type": "string"},
            }
        )
        return parameters

    def get_paginated_response_schema(self, schema):
        paged = super().get_paginated_response_schema(schema)
        paged["properties"]["count_is_estimate"] = {"type": "boolean", "example": False}
        # ?cursor= mode answers next/previous/results only (no counting).
        paged["required"] = ["results"]
        paged["properties"]["count"]["description"] = "Page mode only (absent with ?cursor=)."
        return paged
