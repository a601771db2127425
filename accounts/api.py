"""API sign-up and token endpoints (/api/v1/auth/...), throttled per client IP."""
from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.forms import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH, RegisterForm
from digitrec.throttling import AuthThrottle


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, write_only=True,
                                     style={"input_type": "password"})


class RegisterSerializer(CredentialsSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, required=False, allow_blank=True,
                                   default="")


@method_decorator(never_cache, name="dispatch")  # the answer holds the token
class Register(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(request=RegisterSerializer, responses={201: inline_serializer("Registered", {
        "id": serializers.IntegerField(), "username": serializers.CharField(), "token": serializers.CharField()})})
    def post(self, request):
        """Create an account and get its API token."""
        incoming = RegisterSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        # The same form as the register page: unique username, Django's password validators.
        form = RegisterForm(data={"username": values["username"], "email": values["email"],
                                  "password1": values["password"], "password2": values["password"]})
        if not form.is_valid():
            errors = form.errors.get_json_data()
            fields = {("password" if k in ("password1", "password2") else k): [e["message"] for e in v]
                      for k, v in errors.items()}
            raise ValidationError(fields)
        user = services.user_create(username=form.cleaned_data["username"], password=values["password"],
                                    email=form.cleaned_data.get("email") or "")
        token = services.token_get_or_create(user=user)
        return Response({"id": user.pk, "username": user.username, "token": token.key},
                        status=status.HTTP_201_CREATED)


@method_decorator(never_cache, name="dispatch")
class ObtainToken(APIView):
    # Token (not session) so that a failure is a 401 with "WWW-Authenticate: Token".
    authentication_classes = [TokenAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(request=CredentialsSerializer,
                   responses={200: inline_serializer("Token", {"token": serializers.CharField()})})
    def post(self, request):
        """Exchange a username and password for the account's API token."""
        incoming = CredentialsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        # Through authenticate() with the request, so that django-axes counts failures and,
        # after too many, answers 429 itself (accounts.views.locked_out).
        user = authenticate(request._request, username=incoming.validated_data["username"],
                            password=incoming.validated_data["password"])
        if user is None:
            raise AuthenticationFailed(_("Wrong username or password."))
        return Response({"token": services.token_get_or_create(user=user).key})
