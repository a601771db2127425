from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.middleware import apply_profile_language

        user_logged_in.connect(apply_profile_language, dispatch_uid="accounts.apply_profile_language")
