from django.urls import path

from curriculum import api

urlpatterns = [
    path("courses/", api.CourseListView.as_view(), name="api-courses"),
    path(
        "courses/<slug:course_code>/", api.CourseDetailView.as_view(), name="api-course"
    ),
    path(
        "courses/<slug:course_code>/skills/",
        api.SkillListView.as_view(),
        name="api-course-skills",
    ),
    path(
        "courses/<slug:course_code>/skills/<slug:skill_code>/",
        api.SkillDetailView.as_view(),
        name="api-skill",
    ),
    path(
        "courses/<slug:course_code>/skills/<slug:skill_code>/problems/",
        api.ProblemListView.as_view(),
        name="api-skill-problems",
    ),
]
