"""The API's pagination (its own module: DRF imports it from settings, early)."""
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Pages of PAGE_SIZE (20) by default; ``?page_size=N`` asks for up to 100 (a client
    that only wants ``count`` asks for 1). A page size that is not a positive whole number
    gives the default."""

    page_size_query_param = "page_size"
    max_page_size = 100
