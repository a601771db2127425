from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.forms import LoginForm, PasswordResetForm
from digitrec.throttling import AuthThrottle, throttle_posts

app_name = "accounts"

_reset_confirm = views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:password_reset_complete"),
)

urlpatterns = [
    path("register/", views.register, name="register"),
    path(
        "login/",
        views.LoginView.as_view(
            template_name="accounts/login.html", authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),  # POST only
    path("profile/", views.profile, name="profile"),
    path("profile/token.json", views.token, name="token"),
    path("profile/token/rotate/", views.rotate_token, name="token_rotate"),
    path("profile/email/", views.email_change, name="email_change"),
    path("profile/email/verify/resend/", views.email_verification_resend, name="email_verification_resend"),
    path("email/verify/", views.verify_email, name="email_verify"),  # ?token=
    path("profile/webhooks/", views.webhook_add, name="webhook_add"),
    path("profile/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path(
        "password/change/",
        views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        throttle_posts(AuthThrottle)(auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            form_class=PasswordResetForm,
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        )),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="accounts/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    # The mailed link: the token in the query string (?token=), kept out of the access log;
    # after sent/ and complete/, which it would match.
    path("password/reset/<uidb64>/", _reset_confirm, name="password_reset_confirm"),
    path("password/reset/<uidb64>/set-password/", _reset_confirm,
         {"token": auth_views.PasswordResetConfirmView.reset_url_token}, name="password_reset_form"),
]
