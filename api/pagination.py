"""Limit/offset pagination with bounds: a limit or offset past what the database's bigint holds
would otherwise end as a 500."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    max_limit = 1000
    max_offset = 10**12

    def get_offset(self, request):
        return min(super().get_offset(request), self.max_offset)
