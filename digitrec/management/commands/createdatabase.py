import psycopg
from django.core.management.base import BaseCommand
from django.db import connection
from psycopg import sql


class Command(BaseCommand):
    help = "Create the PostgreSQL database named in DATABASE_URL if it does not exist yet."
    # The checks would connect to the very database that may not exist yet.
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write(f"{connection.vendor} database: nothing to create.")
            return
        name = connection.settings_dict["NAME"]
        # Same host, user and options as Django, but the maintenance database.
        params = {**connection.get_connection_params(), "dbname": "postgres"}
        with psycopg.connect(**params, autocommit=True) as server:
            if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                self.stdout.write(f"Database {name!r} exists.")
                return
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.stdout.write(self.style.SUCCESS(f"Created database {name!r}."))
