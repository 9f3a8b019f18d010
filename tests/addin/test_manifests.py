"""The manifests, checked without the network.

Microsoft's XML schema for the current manifest is only published as web pages (MS-OWEMXML §5;
see tests/specs/office-addin/SOURCE.md), so the XML manifest is checked the way Microsoft's
docs describe it: well-formed, element order (docs/develop/manifest-element-ordering.md), every
resid defined and at most 32 characters, SourceLocation naming the Runtime's resid
(docs/manifest/launchevent.md), nine icons on the mobile button (control-mobilebutton.md), and
every handler it names present in the served command code. The JSON manifest is validated
against the bundled v1.30 schema.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from linkzoom.addin import manifests

SCHEMA = (
    Path(__file__).resolve().parents[1]
    / "specs"
    / "office-addin"
    / "unified-manifest-v1.30"
    / "MicrosoftTeams.schema.json"
)
ADDIN_JS = Path(manifests.__file__).resolve().parent / "static" / "addin.js"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# docs/develop/manifest-element-ordering.md, MailApp.
OFFICEAPP_ORDER = [
    "Id",
    "AlternateId",
    "Version",
    "ProviderName",
    "DefaultLocale",
    "DisplayName",
    "Description",
    "IconUrl",
    "HighResolutionIconUrl",
    "SupportUrl",
    "AppDomains",
    "Hosts",
    "Requirements",
    "FormSettings",
    "Permissions",
    "Rule",
    "DisableEntityHighlighting",
    "VersionOverrides",
]
PUBLIC = "https://mail-addin.example.org/lz"
DEPLOYMENT = manifests.Deployment(public_url=PUBLIC, addin_id=str(uuid.UUID(int=7)))


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@pytest.fixture(scope="module")
def xml_root() -> ET.Element:
    return ET.fromstring(manifests.xml_manifest(DEPLOYMENT).encode())


def test_the_xml_manifest_keeps_microsofts_element_order(xml_root: ET.Element) -> None:
    children = [local(child.tag) for child in xml_root]
    assert children == [name for name in OFFICEAPP_ORDER if name in children]
    for required in ("Requirements", "FormSettings", "Rule", "VersionOverrides"):
        assert required in children
    host = xml_root.find(".//v11:Host", NS)
    assert host is not None
    # Runtimes first, then DesktopFormFactor, then MobileFormFactor (launchevent.md).
    assert [local(c.tag) for c in host] == ["Runtimes", "DesktopFormFactor", "MobileFormFactor"]
    overrides = xml_root.find("v10:VersionOverrides", NS)
    assert overrides is not None and overrides.get(XSI_TYPE) == "VersionOverridesV1_0"
    inner = overrides.find("v11:VersionOverrides", NS)
    assert inner is not None and inner.get(XSI_TYPE) == "VersionOverridesV1_1"
    assert [local(c.tag) for c in inner] == ["Requirements", "Hosts", "Resources"]


def test_the_minimum_is_mailbox_1_5_everywhere(xml_root: ET.Element) -> None:
    (base,) = xml_root.findall("o:Requirements/o:Sets/o:Set", NS)
    assert (base.get("Name"), base.get("MinVersion")) == ("Mailbox", "1.5")
    sets = xml_root.find(".//v11:Requirements/bt:Sets", NS)
    assert sets is not None and sets.get("DefaultMinVersion") == "1.5"


def test_every_resid_is_defined_once_and_short(xml_root: ET.Element) -> None:
    defined: list[str] = [
        element.get("id", "")
        for element in xml_root.iter()
        if local(element.tag) in ("Image", "Url", "String") and element.get("id")
    ]
    assert len(defined) == len(set(defined))
    used = {e.get("resid") for e in xml_root.iter() if e.get("resid")}
    assert used and used <= set(defined)
    assert set(defined) <= used  # nothing defined that nobody uses
    assert all(len(resid) <= 32 for resid in defined)


def test_the_surfaces_and_events_the_add_in_needs(xml_root: ET.Element) -> None:
    points = {e.get(XSI_TYPE): e for e in xml_root.iter(f"{{{NS['v11']}}}ExtensionPoint")}
    assert set(points) == {
        "MessageComposeCommandSurface",
        "AppointmentOrganizerCommandSurface",
        "LaunchEvent",
        "MobileOnlineMeetingCommandSurface",
    }
    events = {
        e.get("Type"): e.get("FunctionName") for e in points["LaunchEvent"].iter() if e.get("Type")
    }
    assert events == {
        "OnAppointmentTimeChanged": "onAppointmentTimeChanged",
        "OnAppointmentRecurrenceChanged": "onAppointmentRecurrenceChanged",
        "OnAppointmentSend": "onAppointmentSend",
        "OnMessageSend": "onMessageSend",
    }
    runtime = xml_root.find(".//v11:Runtimes/v11:Runtime", NS)
    source = points["LaunchEvent"].find("v11:SourceLocation", NS)
    assert runtime is not None and source is not None
    assert source.get("resid") == runtime.get("resid")
    (mobile,) = points["MobileOnlineMeetingCommandSurface"].findall("v11:Control", NS)
    assert mobile.get(XSI_TYPE) == "MobileButton"
    images = mobile.findall("v11:Icon/bt:Image", NS)
    assert sorted((int(i.get("size", 0)), int(i.get("scale", 0))) for i in images) == [
        (size, scale) for size in (25, 32, 48) for scale in (1, 2, 3)
    ]


def test_every_function_the_manifest_names_is_in_the_served_code(xml_root: ET.Element) -> None:
    names = {e.text for e in xml_root.iter(f"{{{NS['v11']}}}FunctionName")}
    names |= {e.get("FunctionName") for e in xml_root.iter() if e.get("FunctionName")}
    block = re.search(r"var handlers = \{(.*?)\};", ADDIN_JS.read_text(), re.S)
    assert block is not None
    associated = set(re.findall(r"(\w+): \w+", block.group(1)))
    assert names and names <= associated


def test_every_url_is_under_the_public_url(xml_root: ET.Element) -> None:
    urls = [
        e.get("DefaultValue", "") for e in xml_root.iter() if "://" in e.get("DefaultValue", "")
    ]
    assert len(urls) >= 12 and all(url.startswith(PUBLIC + "/") for url in urls)
    domains = [e.text for e in xml_root.iter(f"{{{NS['o']}}}AppDomain")]
    assert domains == ["https://mail-addin.example.org", "https://zoom.us"]
    assert xml_root.findtext("o:Id", namespaces=NS) == DEPLOYMENT.addin_id


def test_a_public_url_with_markup_cannot_break_either_manifest() -> None:
    odd = manifests.Deployment(public_url='https://x.example/a&b"<c>', addin_id=DEPLOYMENT.addin_id)
    root = ET.fromstring(manifests.xml_manifest(odd).encode())
    icon = root.find("o:IconUrl", NS)
    assert (
        icon is not None
        and icon.get("DefaultValue") == 'https://x.example/a&b"<c>/addin/icons/icon-64.png'
    )
    assert json.loads(manifests.json_manifest(odd))["developer"]["websiteUrl"].startswith(
        'https://x.example/a&b"<c>'
    )


def test_the_json_manifest_has_no_schema_errors() -> None:
    schema = json.loads(SCHEMA.read_text())
    manifest = json.loads(manifests.json_manifest(DEPLOYMENT))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(manifest))
    assert errors == []
    assert manifest["id"] == DEPLOYMENT.addin_id
    (extension,) = manifest["extensions"]
    actions = {a["id"] for r in extension["runtimes"] for a in r["actions"]}
    events = {e["actionId"] for group in extension["autoRunEvents"] for e in group["events"]}
    buttons = {
        c["actionId"]
        for ribbon in extension["ribbons"]
        for tab in ribbon["tabs"]
        for group in tab["groups"]
        for c in group["controls"]
    }
    assert events | buttons == actions
    assert {ribbon["contexts"][0] for ribbon in extension["ribbons"]} == {
        "mailCompose",
        "meetingDetailsOrganizer",
    }


def test_the_app_package_holds_the_manifest_and_its_icons() -> None:
    package = zipfile.ZipFile(io.BytesIO(manifests.app_package(DEPLOYMENT)))
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert json.loads(package.read("manifest.json"))["icons"] == {
        "outline": "outline.png",
        "color": "color.png",
    }
    color = Image.open(io.BytesIO(package.read("color.png")))
    outline = Image.open(io.BytesIO(package.read("outline.png")))
    assert color.size == (192, 192) and outline.size == (32, 32)
    # Teams' outline icon: white on transparent only.
    rgba = outline.convert("RGBA").tobytes()
    pixels = [tuple(rgba[i : i + 4]) for i in range(0, len(rgba), 4)]
    inked = {pixel[:3] for pixel in pixels if pixel[3]}
    assert inked == {(255, 255, 255)}


@pytest.mark.parametrize(
    ("name", "size"),
    [
        *((f"icon-{s}.png", s) for s in (16, 32, 64, 80, 128, 192)),
        *((f"mobile-{s}.png", s) for s in (25, 32, 48)),
    ],
)
def test_every_icon_has_its_size(name: str, size: int) -> None:
    with Image.open(manifests.ICONS / name) as image:
        assert image.size == (size, size) and image.format == "PNG"


def test_over_plain_http_the_deployment_says_outlook_will_not_load_it() -> None:
    assert manifests.Deployment(public_url="http://127.0.0.1:8000", addin_id="x").insecure
    assert not DEPLOYMENT.insecure
