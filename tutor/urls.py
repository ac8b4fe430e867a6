from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from tutor.api import people
from tutor.health import healthz

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("me/", people.MeView.as_view(), name="api-me"),
    path("classes/", people.ClassroomListView.as_view(), name="api-classes"),
    path("classes/join/", people.JoinClassroomView.as_view(), name="api-class-join"),
    path("classes/<int:classroom_id>/", people.ClassroomDetailView.as_view(), name="api-class"),
    path("", include("curriculum.api_urls")),
    path("", include("tutor.api_urls")),
    path("", include("tutor.api.mastery_urls")),
    path("", include("tutor.api.dashboard_urls")),
    path("", include("evals.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("frontend.urls")),
]
