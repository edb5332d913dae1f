"""List endpoints rendered from ``values_list`` rows instead of model instances.

``ListModelMixin`` replaces DRF's: when the view's serializer is a ``FastModelSerializer`` with
a row plan (``core.api.serializers.row_plan``), the filtered, ordered queryset is read with
``values_list(named=True)`` and each row goes through the plan's compiled row → dict function.
No model instance and no DRF field object is built per row (``Model.from_db`` alone cost about
as much as the serialization it feeds). Pagination, filters, ordering and the response
envelope are untouched: the same paginator pages the same queryset, only its rows are tuples.

Nested read-only ``many=True`` serializers over a reverse foreign key (an order's lines) are
read with one query for the whole page, as ``prefetch_related`` would, ordered like the
view's ``Prefetch`` queryset for that relation when it has one.

Serializers with any field the plan can't render exactly as DRF does (a ``SerializerMethodField``
not listed in ``row_methods``, dotted sources, custom fields...) keep DRF's instance path.
core/tests/test_fast_lists.py compares both paths byte for byte.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import Prefetch
from django.utils import timezone
from rest_framework import mixins
from rest_framework.response import Response

from .serializers import FastModelSerializer, is_utc, row_plan

__all__ = ["ListModelMixin"]


class ListModelMixin(mixins.ListModelMixin):
    """DRF's ``ListModelMixin``, reading rows instead of instances when the serializer allows."""

    def list(self, request, *args, **kwargs):
        serializer_class = self.get_serializer_class()
        plan = (
            row_plan(serializer_class)
            if issubclass(serializer_class, FastModelSerializer)
            else None
        )
        if plan is None:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        lookups = queryset._prefetch_related_lookups
        utc = _utc(queryset.db)
        # The cursor paginator reads its position from the first ordering column of the last row.
        ordering = getattr(self, "ordering", None) or plan.model._meta.ordering or ["pk"]
        keep = {_attname(plan.model, field.lstrip("-")) for field in ordering}
        variant = plan.variant(utc=utc, keep=keep)
        rows = variant.select(queryset.prefetch_related(None))
        page = self.paginate_queryset(rows)
        context = self.get_serializer_context()
        if page is None:
            page = list(rows)
        data = render_rows(variant, serializer_class, page, context, lookups, utc)
        if self.paginator is None:
            return Response(data)
        return self.get_paginated_response(data)


def _utc(alias: str) -> bool:
    """Timestamps can be passed through as text when both the current time zone and the
    database session's are UTC."""
    return is_utc(timezone.get_current_timezone()) and connections[alias].timezone_name == "UTC"


def _attname(model, name: str) -> str:
    if name == "pk":
        return model._meta.pk.attname
    try:
        return model._meta.get_field(name).attname
    except (FieldDoesNotExist, AttributeError):
        return name


def render_rows(variant, serializer_class, rows, context, lookups=(), utc=False) -> list[dict]:
    render = variant.renderer(serializer_class(context=context))
    data = [render(row) for row in rows]
    plan = variant.plan
    if plan.children and rows:
        pk = variant.names.index(plan.model._meta.pk.attname)
        ids = [row[pk] for row in rows]
        for name, child in plan.children:
            by_parent = _children_of(child, ids, context, lookups, utc)
            for row, item in zip(rows, data, strict=True):
                item[name] = by_parent.get(row[pk], [])
    return data


def _children_of(child, ids, context, lookups, utc) -> dict:
    queryset = child.plan.model._default_manager.all()
    for lookup in lookups:
        if isinstance(lookup, Prefetch) and lookup.prefetch_through == child.lookup:
            if lookup.queryset is not None:
                queryset = lookup.queryset
    variant = child.plan.variant(utc=utc, keep={child.link})
    link = variant.names.index(child.link)
    rows = variant.select(queryset.filter(**{f"{child.link}__in": ids}))
    render = variant.renderer(child.serializer_class(context=context))
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[link]].append(render(row))
    return grouped
