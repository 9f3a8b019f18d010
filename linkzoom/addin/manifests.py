"""The manifests rendered for a deployment from the templates in ``addin-manifest/``."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from linkzoom import __version__

TEMPLATES = Path(__file__).resolve().parent / "manifest_templates"
ICONS = TEMPLATES / "icons"
ZOOM_ORIGIN = "https://zoom.us"  # the consent dialog navigates there (AppDomains)
DISPLAY_NAME = "linkzoom"
PROVIDER = "linkzoom"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("xml.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, kw_only=True)
class Deployment:
    public_url: str
    addin_id: str

    @property
    def insecure(self) -> bool:
        """Outlook loads add-ins only over https; the manifests still render, with a warning."""
        return urlsplit(self.public_url).scheme != "https"

    def _values(self) -> dict[str, str]:
        parts = urlsplit(self.public_url)
        return {
            "base": self.public_url.rstrip("/"),
            "origin": f"{parts.scheme}://{parts.netloc}",
            "host": parts.netloc,
            "zoom_origin": ZOOM_ORIGIN,
            "addin_id": self.addin_id,
            "version": _four_part(__version__),
            "json_version": __version__,
            "provider": PROVIDER,
            "display_name": DISPLAY_NAME,
        }


def xml_manifest(deployment: Deployment) -> str:
    return _environment.get_template("manifest.xml.j2").render(deployment._values())


def json_manifest(deployment: Deployment) -> str:
    rendered = _environment.get_template("manifest.json.j2").render(deployment._values())
    return json.dumps(json.loads(rendered), indent=2) + "\n"  # parsed once: it is valid JSON


def app_package(deployment: Deployment) -> bytes:
    """What the Microsoft 365 admin centre uploads: manifest.json and its two icons."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json_manifest(deployment))
        package.write(ICONS / "icon-192.png", "color.png")
        package.write(ICONS / "outline-32.png", "outline.png")
    return buffer.getvalue()


def _four_part(version: str) -> str:
    """The XML manifest's Version is n.n.n.n."""
    numbers = [part for part in version.split(".") if part.isdigit()][:4]
    return ".".join(numbers + ["0"] * (4 - len(numbers)))
