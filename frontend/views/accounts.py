"""Sign-up, home dispatch by role, account, joining a class."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from frontend.views import SignedInRequest
from tutor import access, actions
from tutor.errors import DomainError


class SignUpForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    email = forms.EmailField(label="Email (optional, for password reset)", required=False)
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters, not only digits.")


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.sign_up_student(
                form.cleaned_data["username"],
                form.cleaned_data["password"],
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Join your class with the code your teacher gave you.")
            return redirect("join-class")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    user = request.user
    if user.is_teacher:
        return redirect("teacher-classes")
    if user.is_student:
        from frontend.views.student import student_home

        return student_home(request)
    classrooms = access.classrooms_visible_to(user).select_related("teacher")
    return render(request, "frontend/home_admin.html", {"classrooms": classrooms})


@login_required
def account(request: SignedInRequest) -> HttpResponse:
    classrooms = access.classrooms_visible_to(request.user).select_related("teacher")
    return render(request, "frontend/account.html", {"classrooms": classrooms})


@login_required
def join_class(request: SignedInRequest) -> HttpResponse:
    context: dict[str, str | None] = {"code": "", "error": None}
    if request.method == "POST":
        code = context["code"] = request.POST.get("code", "")[:40]
        try:
            enrollment = actions.join_classroom(request.user, code)
        except DomainError as error:
            context["error"] = error.message
            return render(request, "frontend/join_class.html", context, status=400)
        messages.success(request, f"You joined {enrollment.classroom.name}.")
        return redirect("home")
    return render(request, "frontend/join_class.html", context)
