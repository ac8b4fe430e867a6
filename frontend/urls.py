from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from frontend.views import accounts, classes


def _form_page(heading: str, **extra):
    return {"template_name": "registration/simple_form.html", "extra_context": {"heading": heading, **extra}}


urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", accounts.signup, name="signup"),
    path("account/", accounts.account, name="account"),
    path("join/", accounts.join_class, name="join-class"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            success_url=reverse_lazy("account"), **_form_page("Change password", submit_label="Change password")
        ),
        name="password_change",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            **_form_page(
                "Reset your password",
                intro="Type the email address of your account and we will send a link.",
                submit_label="Send the link",
            )
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            **_form_page("Check your email", intro="If an account has that address, a reset link is on its way.")
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_reset_confirm.html",
            extra_context={"heading": "Choose a new password", "submit_label": "Save password"},
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            **_form_page("Password saved", next_link=reverse_lazy("login"), next_label="Log in")
        ),
        name="password_reset_complete",
    ),
    path("classes/", classes.teacher_classes, name="teacher-classes"),
    path("classes/<int:classroom_id>/", classes.teacher_class, name="teacher-class"),
    path("classes/<int:classroom_id>/code/", classes.regenerate_code, name="teacher-class-regenerate-code"),
    path(
        "classes/<int:classroom_id>/students/<int:student_id>/remove/",
        classes.remove_student,
        name="teacher-class-remove-student",
    ),
    path("", include("frontend.urls_curriculum")),
    path("", include("frontend.urls_student")),
    path("", include("frontend.urls_teacher")),
    path("", include("frontend.urls_admin")),
]
