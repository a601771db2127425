"""The API's pagination (its own module: DRF imports it from settings, early)."""
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Pages of PAGE_SIZE (20) by default; ``?page_size=N`` asks for up to 100 (a client
    that only wants ``count`` asks for 1; more than 100 gives 100). A page size that is not
    a positive whole number is a 400, as any other invalid parameter is; an empty one is
    none, as for every query parameter."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [
                _("A whole number from 1 to %(most)d.") % {"most": self.max_page_size}]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
