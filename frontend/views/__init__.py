"""The pages' views. A view behind `login_required` takes a `SignedInRequest`."""

from django.http import HttpRequest

from tutor.models import User


class SignedInRequest(HttpRequest):
    """The request of a view behind `login_required`: its user is signed in, never anonymous."""

    user: User
