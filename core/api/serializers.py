"""A ModelSerializer whose *output* path is planned once per serializer class.

DRF's ``to_representation`` walks every field object for every row (``get_attribute``, type
checks, per-field ``to_representation``). For list endpoints that is most of the request's CPU
(measured: ~5 ms of 5.3 ms for 50 rows). ``FastModelSerializer`` keeps DRF for input validation
and the OpenAPI schema, and renders rows through a plan of plain getters built from the same
declared fields, so output stays identical to DRF's.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import ExpressionWrapper, F
from django.db.models.functions import Cast
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework.settings import api_settings

from .fields import JSONField, StrictCharField, StrictSlugField


def _decimal(value):
    return None if value is None else format(value, "f")


def _identity(value):
    return value


def _coerces_to_string(field) -> bool:
    explicit = getattr(field, "coerce_to_string", None)
    return api_settings.COERCE_DECIMAL_TO_STRING if explicit is None else explicit


# A "maker" turns (serializer instance, active time zone) into the getter of one output field.
Maker = Callable[[Any, Any], Callable[[Any], Any]]


class FastModelSerializer(serializers.ModelSerializer):
    """Output through a plan of plain getters.

    The plan's *shape* (which getter each declared field needs) depends only on the serializer
    class, so it is built once per class from the first instance's fields and cached; each
    serializer instance then binds it (time zone, its own methods) without building DRF's field
    objects at all, which is the other large per-request cost of a DRF list (~0.5 ms).
    """

    _plan_specs: dict[type, list[tuple[str, Maker]]] = {}
    # Model JSON fields accept only what the renderer can render back (core.api.json_limits).
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.JSONField: JSONField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
    }

    def to_representation(self, instance):
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self._bind_plan()
        return {name: getter(instance) for name, getter in plan}

    def _bind_plan(self) -> list[tuple[str, Callable[[Any], Any]]]:
        spec = FastModelSerializer._plan_specs.get(type(self))
        if spec is None:
            spec = [(f.field_name, _maker(f)) for f in self._readable_fields]
            FastModelSerializer._plan_specs[type(self)] = spec
        tz = timezone.get_current_timezone()
        self._plan = [(name, make(self, tz)) for name, make in spec]
        return self._plan


def _converted(get, convert) -> Maker:
    getter = lambda instance: convert(get(instance))  # noqa: E731
    return lambda serializer, tz: getter


def _maker(field) -> Maker:
    """How to read ``field`` for output, decided from its type once per serializer class."""
    name, source = field.field_name, field.source
    if isinstance(field, serializers.SerializerMethodField):
        method_name = field.method_name
        return lambda serializer, tz: getattr(serializer, method_name)
    if isinstance(field, relations.PrimaryKeyRelatedField) and "." not in source:
        return _converted(attrgetter(source + "_id"), _identity)
    if isinstance(field, serializers.ListSerializer) and isinstance(
        field.child, FastModelSerializer
    ):
        many, child_class = attrgetter(source), type(field.child)

        def nested(serializer, tz):
            child = child_class(context=serializer._context)
            return lambda instance: [child.to_representation(item) for item in many(instance).all()]

        return nested
    get = attrgetter(source) if source != "*" else _identity
    if isinstance(field, serializers.DateTimeField):
        return lambda serializer, tz: _datetime_getter(get, tz)
    if isinstance(field, serializers.DecimalField) and _coerces_to_string(field):
        return _converted(get, _decimal)
    if isinstance(
        field,
        serializers.IntegerField
        | serializers.CharField
        | serializers.JSONField
        | serializers.BooleanField
        | serializers.ChoiceField,
    ) and not isinstance(field, serializers.ModelField):
        return _converted(get, _identity)

    # Anything else goes through DRF's own field of this serializer instance.
    def generic(serializer, tz):
        bound = serializer.fields[name]

        def read(instance):
            attribute = bound.get_attribute(instance)
            return None if attribute is None else bound.to_representation(attribute)

        return read

    return generic


def _datetime_getter(get, tz) -> Callable[[Any], Any]:
    convert = _datetime_converter(tz)
    return lambda instance: convert(get(instance))


# --- Row plans: list output straight from ``values_list`` rows ----------------------------------
#
# Building a model instance per row (``Model.from_db``: ``__init__``, descriptors, state) costs
# about as much as serializing it, and psycopg's timestamptz loader parses every timestamp in
# Python only for DRF to format it back into text. A list endpoint needs neither: a row plan,
# compiled once per serializer class, reads a ``values_list(named=True)`` row and builds the
# output dict with the conversions DRF's fields would apply:
#
# - decimals arrive as PostgreSQL's text of the numeric (``price::text``: the same digits as
#   ``format(Decimal, "f")`` for a column of the field's scale);
# - JSON columns arrive as their text and are decoded with ``json.loads`` (what Django's
#   ``JSONField.from_db_value`` does), without Django's per-row converter machinery;
# - in UTC (the current time zone and the session's), timestamps arrive as PostgreSQL's text
#   (``2024-03-31 00:30:00.5+00``), rewritten by slicing into DRF's ISO 8601 (``...00.500000Z``);
#   in any other zone they are loaded as datetimes and converted as DRF does.
#
# Only fields whose DRF rendering is known exactly are planned; a serializer with any other field
# has no plan and keeps the instance path. core/tests/test_fast_lists.py holds both to the same
# bytes.


class RowPlan:
    """How one ``FastModelSerializer`` class renders ``values_list`` rows.

    ``fields``: ``(output name, kind, attname)`` with kind ``raw``, ``datetime``, ``decimal``
    (as text), ``json``, ``method`` (a ``row_methods`` method, attname is its name) or ``child``
    (a nested many-field, see ``children``: ``(field name, ChildPlan)``).
    """

    def __init__(self, model, fields, children):
        self.model = model
        self.fields: tuple[tuple[str, str, str], ...] = fields
        self.children: tuple[tuple[str, ChildPlan], ...] = children
        self.method_names = tuple(attname for _, kind, attname in fields if kind == "method")
        self._variants: dict[tuple[bool, frozenset], _Variant] = {}

    def variant(self, *, utc: bool, keep=frozenset()) -> _Variant:
        """The select list and row function for one request: ``utc`` when both the current time
        zone and the database session's are UTC; ``keep``: attnames the caller reads from rows
        (the cursor paginator's ordering column, a child's link)."""
        key = (utc, frozenset(keep))
        variant = self._variants.get(key)
        if variant is None:
            variant = self._variants[key] = _Variant(self, utc, key[1])
        return variant


class _Variant:
    def __init__(self, plan: RowPlan, utc: bool, keep: frozenset):
        opts = plan.model._meta
        attnames = [f.attname for f in opts.concrete_fields]
        taken = {*attnames, *(f.name for f in opts.concrete_fields)}
        converted = {"decimal", "json"} | ({"datetime"} if utc else set())
        raw = {opts.pk.attname, *keep}
        if plan.method_names:
            raw.update(attnames)  # row methods read columns by name
        for _, kind, attname in plan.fields:
            if kind not in converted and kind not in ("method", "child"):
                raw.add(attname)
        self.names: list[str] = [a for a in attnames if a in raw]
        self.annotations: dict[str, Any] = {}
        aliases: dict[str, str] = {}
        for _, kind, attname in plan.fields:
            if kind in converted and attname not in aliases:
                alias = f"{attname}_as_text"
                while alias in taken:
                    alias += "_"
                aliases[attname] = alias
                self.annotations[alias] = (
                    ExpressionWrapper(F(attname), output_field=models.TextField())
                    if kind == "json"  # jsonb is read as text already (Django's loader)
                    else Cast(attname, output_field=models.TextField())
                )
                self.names.append(alias)
        exprs, methods = [], 0
        for name, kind, attname in plan.fields:
            if kind == "method":
                expr, methods = f"m{methods}(r)", methods + 1
            elif kind == "child":
                expr = "None"  # filled in by core.api.lists from one query for the page
            else:
                index = self.names.index(aliases.get(attname, attname))
                wrap = {"datetime": "iso" if utc else "dt", "json": "loads"}.get(kind)
                expr = f"{wrap}(r[{index}])" if wrap else f"r[{index}]"
            exprs.append(f"{name!r}: {expr}")
        source = "\n".join(
            [
                "def bind(tz, methods):",
                "    dt = datetime_converter(tz)",
                *(f"    m{i} = methods[{i}]" for i in range(methods)),
                "    def row(r):",
                f"        return {{{', '.join(exprs)}}}",
                "    return row",
            ]
        )
        namespace = {"datetime_converter": _datetime_converter, "iso": _iso_from_text}
        namespace["loads"] = _json_loads
        exec(compile(source, f"<row plan of {plan.model.__name__}>", "exec"), namespace)  # noqa: S102
        self._bind = namespace["bind"]
        self.plan = plan

    def select(self, queryset):
        """``queryset`` read as this variant's rows."""
        if self.annotations:
            queryset = queryset.annotate(**self.annotations)
        return queryset.values_list(*self.names, named=True)

    def renderer(self, serializer) -> Callable[[Any], dict]:
        methods = [getattr(serializer, name) for name in self.plan.method_names]
        return self._bind(timezone.get_current_timezone(), methods)


class ChildPlan:
    """A nested ``many=True`` field: the child serializer's plan and the reverse foreign key."""

    def __init__(self, serializer_class, plan: RowPlan, link: str, lookup: str):
        self.serializer_class = serializer_class
        self.plan = plan
        self.link = link  # the child's foreign-key attname (``order_id``)
        self.lookup = lookup  # the queryset's prefetch lookup / related manager name (``lines``)


_row_plans: dict[type, RowPlan | None] = {}


def row_plan(serializer_class) -> RowPlan | None:
    """The row plan of ``serializer_class`` (a ``FastModelSerializer``), or None if it has a
    field this module can't render from a row exactly as DRF does."""
    try:
        return _row_plans[serializer_class]
    except KeyError:
        pass
    plan = _build_row_plan(serializer_class) if settings.USE_TZ else None
    _row_plans[serializer_class] = plan
    return plan


def is_utc(tz) -> bool:
    return tz is datetime.UTC or getattr(tz, "key", None) in ("UTC", "Etc/UTC")


def _decimal_column(field, model_field) -> bool:
    """DRF's DecimalField output is ``format(value, "f")``: for a column of the field's scale,
    the numeric's own text."""
    return (
        isinstance(model_field, models.DecimalField)
        and field.decimal_places == model_field.decimal_places
        and (field.max_digits is None or field.max_digits >= model_field.max_digits)
        and not field.localize
        and not field.normalize_output
    )


def _datetime_iso(field, model_field) -> bool:
    return (
        isinstance(model_field, models.DateTimeField)
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
        and not hasattr(field, "timezone")
    )


# Serializer field types whose to_representation returns a database value of the paired model
# field types unchanged (str(str), int(int), bool, a decoded JSON value, a stored choice).
_IDENTITY = (
    (serializers.CharField, (models.CharField, models.TextField)),
    (serializers.IntegerField, (models.IntegerField,)),  # also Big/Small/Positive/Auto
    (serializers.BooleanField, (models.BooleanField,)),
    (serializers.JSONField, (models.JSONField,)),
    (serializers.ChoiceField, (models.CharField, models.TextField, models.IntegerField)),
)


def _identity_column(field, model_field) -> bool:
    if isinstance(field, serializers.ModelField | serializers.MultipleChoiceField):
        return False
    if isinstance(field, serializers.JSONField) and field.binary:
        return False
    return any(
        isinstance(field, drf) and isinstance(model_field, columns) for drf, columns in _IDENTITY
    )


def _build_row_plan(serializer_class) -> RowPlan | None:
    serializer = serializer_class()
    model = serializer.Meta.model
    by_name = {f.name: f for f in model._meta.concrete_fields}
    fields, children = [], []
    allowed_methods = set(getattr(serializer_class, "row_methods", ()))
    for field in serializer._readable_fields:
        name, source = field.field_name, field.source
        if isinstance(field, serializers.SerializerMethodField):
            if field.method_name not in allowed_methods:
                return None
            fields.append((name, "method", field.method_name))
            continue
        if isinstance(field, serializers.ListSerializer):
            child = _child_plan(model, field)
            if child is None:
                return None
            children.append((name, child))
            fields.append((name, "child", name))
            continue
        model_field = by_name.get(source)
        if model_field is None:
            return None
        attname = model_field.attname
        if isinstance(field, relations.PrimaryKeyRelatedField):
            if not model_field.many_to_one or field.pk_field is not None:
                return None
            if model_field.target_field != model_field.related_model._meta.pk:
                return None
            fields.append((name, "raw", attname))
        elif model_field.is_relation:
            return None
        elif isinstance(field, serializers.DateTimeField):
            if not _datetime_iso(field, model_field):
                return None
            fields.append((name, "datetime", attname))
        elif isinstance(field, serializers.DecimalField):
            if not _decimal_column(field, model_field):
                return None
            fields.append((name, "decimal" if _coerces_to_string(field) else "raw", attname))
        elif _identity_column(field, model_field):
            is_json = isinstance(model_field, models.JSONField) and model_field.decoder is None
            if isinstance(model_field, models.JSONField) and not is_json:
                return None
            fields.append((name, "json" if is_json else "raw", attname))
        else:
            return None
    return RowPlan(model, tuple(fields), tuple(children))


def _child_plan(model, field) -> ChildPlan | None:
    """A read-only ``many=True`` nested FastModelSerializer over a reverse foreign key."""
    child_class = type(field.child)
    if not issubclass(child_class, FastModelSerializer) or "." in field.source:
        return None
    try:
        relation = model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return None
    if not (relation.one_to_many and relation.auto_created):  # a reverse ForeignKey
        return None
    plan = row_plan(child_class)
    if plan is None or plan.children or plan.model is not relation.related_model:
        return None
    return ChildPlan(child_class, plan, relation.field.attname, relation.get_accessor_name())


def _datetime_converter(tz) -> Callable[[Any], Any]:
    def convert(value):
        if value is None:
            return None
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _iso_from_text(text):
    """PostgreSQL's text of a timestamptz in a UTC session (``2024-03-31 00:30:00.5+00``) as DRF
    renders it in UTC (``2024-03-31T00:30:00.500000Z``; no fraction for whole seconds)."""
    if text is None:
        return None
    if text[4:5] == "-" and text[10:11] == " " and text[-3:] == "+00":
        if len(text) == 22:
            return f"{text[:10]}T{text[11:19]}Z"
        if text[19] == ".":
            return f"{text[:10]}T{text[11:20]}{text[20:-3].ljust(6, '0')}Z"
    # Anything else (another session time zone behind a pooler, say): parse and convert.
    return _datetime_converter(datetime.UTC)(datetime.datetime.fromisoformat(text))


def _json_loads(text):
    return None if text is None else json.loads(text)
