"""Create (or refresh) the demo school: idempotent, safe to run on every `make run`."""

from django.core.management.base import BaseCommand

from tutor.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo organisation, people, class and content, and print the demo logins."

    def handle(self, *args, **options) -> None:
        logins = seed_demo(log=lambda line: self.stdout.write(line))
        for role, username, password in logins:
            self.stdout.write(f"demo login: {role} {username} {password}")
