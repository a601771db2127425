from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

# Every credential field is bounded, so an oversized value is a form error, not a
# database error (django-axes stores a failed login's username in 255 characters).
USERNAME_MAX_LENGTH = get_user_model()._meta.get_field("username").max_length  # 150
EMAIL_MAX_LENGTH = get_user_model()._meta.get_field("email").max_length  # 254
PASSWORD_MAX_LENGTH = 4096  # Django's own former limit: hashing longer ones only costs CPU


def _limit(field: forms.CharField, max_length: int) -> None:
    field.max_length = max_length
    field.validators.append(MaxLengthValidator(max_length))
    field.widget.attrs["maxlength"] = str(max_length)


class BoundedPasswordsMixin:
    """Limits every password field of a Django auth form to PASSWORD_MAX_LENGTH."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.PasswordInput):
                _limit(field, PASSWORD_MAX_LENGTH)


class LoginForm(BoundedPasswordsMixin, auth_forms.AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django sets max_length here without its validator: the form would pass any length.
        _limit(self.fields["username"], USERNAME_MAX_LENGTH)


class PasswordChangeForm(BoundedPasswordsMixin, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(BoundedPasswordsMixin, auth_forms.SetPasswordForm):
    pass


class RegisterForm(BoundedPasswordsMixin, auth_forms.UserCreationForm):
    email = forms.EmailField(
        required=False, max_length=EMAIL_MAX_LENGTH,
        label=_("Email address"), help_text=_("Optional. Needed only to reset a forgotten password."),
    )

    class Meta(auth_forms.UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_email(self) -> str:
        # Unique whatever its case, so a reset mail goes to one account only. Checked here,
        # not by a constraint: accounts made before may share one.
        email = self.cleaned_data["email"]
        if email and get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("A user with that email address already exists."))
        return email


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("Webhook address"), max_length=500, assume_scheme="https")
