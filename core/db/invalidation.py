"""Cache invalidation that no write path can forget.

A model whose default queryset class subclasses ``InvalidatingQuerySet`` gets its caches
invalidated on every write: ``save()``/``delete()`` through ``post_save``/``post_delete``
(connected for every such model by ``core.apps``), and the bulk paths that send no signals
(``update()``, ``bulk_update()``, ``bulk_create()``, queryset ``delete()``) by the overrides
below. The subclass names the field that scopes the cache (``organization_id``, ``user_id``, or
None for one global scope) and how to invalidate a set of scopes.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import models
from django.db.models.signals import post_delete, post_save

# Set while bulk_update() runs: Django implements it with update() calls on clones, whose
# scopes we already know from the objects (saves a SELECT DISTINCT per batch).
_in_bulk_update: ContextVar[bool] = ContextVar("in_bulk_update", default=False)


class InvalidatingQuerySet(models.QuerySet):
    cache_scope_field: str | None = None
    # False when a new row can't make any cached value wrong (e.g. a new organization or role:
    # nobody's cached permissions mention it yet).
    invalidate_on_create = True

    @classmethod
    def invalidate_cache(cls, scopes: set) -> None:
        raise NotImplementedError

    def _scopes(self, objs=None, values=()) -> set:
        field = self.cache_scope_field
        if field is None:
            return {None}
        if objs is not None:
            scopes = {getattr(obj, field) for obj in objs}
        else:
            scopes = set(self.order_by().values_list(field, flat=True).distinct())
        return scopes | {
            getattr(v, "pk", v) for v in values if isinstance(getattr(v, "pk", v), int)
        }

    def update(self, **kwargs):
        if _in_bulk_update.get():
            return super().update(**kwargs)
        field = self.cache_scope_field
        moved = [kwargs[k] for k in (field, field and field.removesuffix("_id")) if k in kwargs]
        scopes = self._scopes(values=moved)
        rows = super().update(**kwargs)
        if rows:
            self.invalidate_cache(scopes)
        return rows

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        token = _in_bulk_update.set(True)
        try:
            rows = super().bulk_update(objs, fields, batch_size=batch_size)
        finally:
            _in_bulk_update.reset(token)
        if rows:
            self.invalidate_cache(self._scopes(objs))
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created and self.invalidate_on_create:
            self.invalidate_cache(self._scopes(created))
        return created

    def delete(self):
        scopes = self._scopes()
        result = super().delete()
        if result[0]:
            self.invalidate_cache(scopes)
        return result

    delete.alters_data = True
    delete.queryset_only = True


def connect_invalidation_signals(model) -> None:
    """``post_save``/``post_delete`` of ``model`` invalidate the instance's scope."""
    queryset_class = model._default_manager._queryset_class
    field = queryset_class.cache_scope_field

    def receiver(sender, instance, created=False, **kwargs):
        if created and not queryset_class.invalidate_on_create:
            return
        queryset_class.invalidate_cache({getattr(instance, field) if field else None})

    uid = f"cache-invalidation:{model._meta.label}"
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=uid)


def connect_all(models_iterable) -> None:
    for model in models_iterable:
        manager = model._default_manager
        if issubclass(getattr(manager, "_queryset_class", object), InvalidatingQuerySet):
            connect_invalidation_signals(model)
