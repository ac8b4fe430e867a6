"""Static files as production serves them (DEBUG off): collected with hashed names and compressed."""

import json

from django.core.management import call_command
from django.test import override_settings

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_collectstatic_with_the_production_storage_resolves_every_css_reference(tmp_path):
    # The manifest storage rewrites every url() in every CSS file and fails on one it cannot
    # find, as KaTeX's stylesheet did when only its woff2 fonts were vendored.
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=PRODUCTION_STORAGES):
        call_command("collectstatic", interactive=False, verbosity=0)

    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    css = (tmp_path / paths["vendor/katex/katex.min.css"]).read_text()
    for font in ("KaTeX_Main-Regular.woff2", "KaTeX_Main-Regular.woff", "KaTeX_Main-Regular.ttf"):
        hashed = paths[f"vendor/katex/fonts/{font}"]
        assert hashed != f"vendor/katex/fonts/{font}"
        assert hashed.removeprefix("vendor/katex/") in css
    assert (tmp_path / (paths["css/app.css"] + ".gz")).exists()
