"""The JSON API. Domain errors become HTTP responses here, once."""

from django.http import Http404
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tutor.errors import DomainError, RateLimited
from tutor.models import User


class SignedInRequest(Request):
    """The request of a view whose permissions require a signed-in user (IsAuthenticated, the
    default): its user is never anonymous."""

    user: User


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response({"error": exc.code, "detail": exc.message}, status=exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        return Response({"error": "not_found", "detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return drf_exception_handler(exc, context)
