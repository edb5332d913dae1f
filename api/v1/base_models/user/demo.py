"""Demo data of the users module: the staff user (may create users)."""


def load_demo(demo) -> None:
    demo.user("staff", email="staff@example.com", is_staff=True)
    demo.login("staff", note="staff: may create users (POST /api/v1/users/)")
