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

from django.db.models import Prefetch
from rest_framework import mixins
from rest_framework.response import Response

from .serializers import FastModelSerializer, row_plan

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
        rows = queryset.prefetch_related(None).values_list(*plan.columns, named=True)
        page = self.paginate_queryset(rows)
        context = self.get_serializer_context()
        if page is not None:
            data = render_rows(plan, serializer_class, page, context, lookups)
            return self.get_paginated_response(data)
        return Response(render_rows(plan, serializer_class, list(rows), context, lookups))


def render_rows(plan, serializer_class, rows, context, lookups=()) -> list[dict]:
    render = plan.bind(serializer_class(context=context))
    data = [render(row) for row in rows]
    if plan.children and rows:
        pk = plan.columns.index(plan.model._meta.pk.attname)
        ids = [row[pk] for row in rows]
        for name, child in plan.children:
            by_parent = _children_of(child, ids, context, lookups)
            for row, item in zip(rows, data, strict=True):
                item[name] = by_parent.get(row[pk], [])
    return data


def _children_of(child, ids, context, lookups) -> dict:
    queryset = child.plan.model._default_manager.all()
    for lookup in lookups:
        if isinstance(lookup, Prefetch) and lookup.prefetch_through == child.lookup:
            if lookup.queryset is not None:
                queryset = lookup.queryset
    columns = child.plan.columns
    link = columns.index(child.link)
    rows = queryset.filter(**{f"{child.link}__in": ids}).values_list(*columns, named=True)
    render = child.plan.bind(child.serializer_class(context=context))
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[link]].append(render(row))
    return grouped
