from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=`` and ``?page_size=`` (default 50, capped at 200).

    A ``page_size`` that is not a positive integer is a 400 naming the parameter (DRF would
    silently fall back to the default).
    """

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
