from django.urls import path

from frontend.views import curriculum

urlpatterns = [
    path("curriculum/", curriculum.course_list, name="curriculum-courses"),
    path(
        "curriculum/<slug:course_code>/",
        curriculum.course_detail,
        name="curriculum-course",
    ),
    path(
        "curriculum/<slug:course_code>/<slug:skill_code>/",
        curriculum.skill_detail,
        name="curriculum-skill",
    ),
]
