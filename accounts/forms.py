from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.mail.message import sanitize_address
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from accounts.selectors import email_is_verified

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
        label=_("Email address"),
        help_text=_("Optional. Needed only to reset a forgotten password."),
    )

    class Meta(auth_forms.UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_email(self) -> str:
        return _unused_email(self.cleaned_data["email"])


def _unused_email(email: str, *, user=None) -> str:
    if email:
        try:  # Django's validator passes domains that IDNA cannot encode, so no mail could be sent
            sanitize_address(email, "utf-8")
        except ValueError:
            raise forms.ValidationError(_("Mail cannot be sent to this address.")) from None
    # Unique whatever its case, so a reset mail goes to one account only. Checked here,
    # not by a constraint: accounts made before may share one.
    taken = get_user_model().objects.filter(email__iexact=email)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    if email and taken.exists():
        raise forms.ValidationError(_("A user with that email address already exists."))
    return email


class EmailChangeForm(BoundedPasswordsMixin, forms.Form):
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH, label=_("New email address"))
    # Asked again, as for a password change: whoever holds only the session cannot move the
    # address (and with it the password reset) elsewhere.
    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Your password was entered incorrectly."))
        return password

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError(_("This is already your email address."))
        return _unused_email(email, user=self.user)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Mails only verified addresses: an unverified one may be a typo or someone else's,
    and a reset link hands over the account."""

    def get_users(self, email):
        for user in super().get_users(email):
            if email_is_verified(user):
                yield user


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("Webhook address"), max_length=500, assume_scheme="https")
