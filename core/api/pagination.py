"""Page-number pagination that fetches the page and the total count in ONE query.

``?page=`` and ``?page_size=`` (default 50, capped at 200); the response is
``{"count", "next", "previous", "results"}`` like DRF's. Instead of ``SELECT COUNT(*)`` followed
by the page query, the page query carries ``COUNT(*) OVER ()``: one round trip less per list
request. Only a request for a page past the end (no rows come back) pays a separate COUNT, to
tell "empty" from "out of range".
"""

from __future__ import annotations

from django.db.models import Count, Window
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

TOTAL = "_pagination_total"


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

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
        self.number = self.get_page_number_value(request)
        offset = (self.number - 1) * self.size
        rows = list(queryset.annotate(**{TOTAL: Window(Count("*"))})[offset : offset + self.size])
        if rows:
            self.count = getattr(rows[0], TOTAL)
        else:
            self.count = queryset.count() if self.number > 1 else 0
            if self.number > 1:
                raise NotFound(f"Invalid page {self.number}: there are only {self.count} results.")
        return rows

    def get_next_link(self):
        if self.number * self.size >= self.count:
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
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )
