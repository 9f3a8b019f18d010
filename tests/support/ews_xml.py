"""SOAP for the EWS stand-in (:mod:`tests.support.ews`): reading requests, writing responses.

Everything is built and read with lxml, never by pasting strings, so request data cannot
inject markup. Elements are written in schema order even where clients would not mind, so a
response reads like one from Exchange:

* items: ``ItemType`` ([MS-OXWSCORE] 2.2.4.24), then ``CalendarItemType`` ([MS-OXWSMTGS]
  2.2.4.6); only the ItemId and the *requested* properties that are set
  ([MS-OXWSCDATA] 2.2.4.42 ``ItemResponseShapeType``);
* the add-in's named property as ``ExtendedProperty`` ([MS-OXWSXPROP] 2.1.5), only when its
  ``ExtendedFieldURI`` (2.1.6) was asked for, echoed as asked;
* response messages as ``ResponseMessageType`` ([MS-OXWSCDATA] 2.2.4.65);
* whole-request failures as SOAP faults whose ``detail`` holds ``e:ResponseCode``,
  ``e:Message`` and ``t:MessageXml`` (the fault examples of the EWS reference).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from exchangelib.winzone import IANA_TO_MS_TIMEZONE_MAP
from lxml import etree  # type: ignore[import-untyped]

from tests.support.ews_mailbox import CalendarItem, Weekly

XmlElement = Any  # lxml ships no type information; these are lxml.etree._Element
Render = Callable[[XmlElement], None]  # appends one child element to its parent

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
NSMAP = {"s": SOAP, "m": MNS, "t": TNS}
PUBLIC_STRINGS_GUID = "00020329-0000-0000-c000-000000000046"  # the PublicStrings property set
DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
             "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}  # fmt: skip
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_UTC = ZoneInfo("UTC")


def t(local: str) -> str:
    return f"{{{TNS}}}{local}"


def m(local: str) -> str:
    return f"{{{MNS}}}{local}"


class SoapFault(Exception):
    """A whole-request failure, answered as an HTTP 500 SOAP fault. ``code`` None: a plain
    SOAP ``Client`` fault without EWS detail (for what the stand-in does not implement)."""

    def __init__(self, code: str | None, text: str, values: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {text}")
        self.code, self.text, self.values = code, text, values or {}


# -- reading ----------------------------------------------------------------------------------


def parse_envelope(body: bytes) -> XmlElement:
    try:
        envelope = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        text = f"The request failed schema validation: {exc}"
        raise SoapFault("ErrorSchemaValidation", text) from None
    if envelope.tag != f"{{{SOAP}}}Envelope":
        raise SoapFault("ErrorSchemaValidation", "The request is not a SOAP 1.1 envelope.")
    return envelope


def single_operation(envelope: XmlElement) -> XmlElement:
    body = envelope.find(f"{{{SOAP}}}Body")
    children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise SoapFault("ErrorSchemaValidation", "The SOAP body must hold one operation.")
    return children[0]


def children(operation: XmlElement, tag: str) -> list[XmlElement]:
    container = operation.find(m(tag))
    found = [] if container is None else [c for c in container if isinstance(c.tag, str)]
    if not found:
        raise SoapFault("ErrorSchemaValidation", f"The request lacks the contents of m:{tag}.")
    return found


def field_uris(shape: XmlElement | None) -> frozenset[str]:
    if shape is None:
        return frozenset()
    uris = shape.iterfind(f"{t('AdditionalProperties')}/{t('FieldURI')}")
    return frozenset(uri.get("FieldURI", "") for uri in uris)


@dataclass(frozen=True, kw_only=True)
class Shape:
    """What an ``ItemShape`` asks for beyond the ItemId."""

    field_uris: frozenset[str]
    cecp_uri: XmlElement | None  # the add-in's ExtendedFieldURI, if asked for

    @classmethod
    def parse(cls, shape: XmlElement | None, cecp_property_name: str) -> Shape:
        cecp = None
        extended = (
            ()
            if shape is None
            else shape.iterfind(f"{t('AdditionalProperties')}/{t('ExtendedFieldURI')}")
        )
        for uri in extended:
            # A named property's set is given by name or by GUID ([MS-OXWSXPROP] 2.1.6).
            in_set = uri.get("DistinguishedPropertySetId") == "PublicStrings" or (
                (uri.get("PropertySetId") or "").lower() == PUBLIC_STRINGS_GUID
            )
            named = uri.get("PropertyName") == cecp_property_name
            if in_set and named and uri.get("PropertyType") == "String":
                cecp = uri
        return cls(field_uris=field_uris(shape), cecp_uri=cecp)

    def without(self, field_uri: str) -> Shape:
        return Shape(field_uris=self.field_uris - {field_uri}, cecp_uri=self.cecp_uri)


# -- writing ----------------------------------------------------------------------------------


def envelope(version: str, build: tuple[int, int, int, int]) -> tuple[XmlElement, XmlElement]:
    """An envelope whose header carries ``ServerVersionInfo`` ([MS-OXWSCDATA] 2.2.3.10)."""
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap=NSMAP)
    header = etree.SubElement(root, f"{{{SOAP}}}Header")
    major, minor, major_build, minor_build = (str(number) for number in build)
    attributes = {
        "MajorVersion": major,
        "MinorVersion": minor,
        "MajorBuildNumber": major_build,
        "MinorBuildNumber": minor_build,
        "Version": version,
    }
    etree.SubElement(header, t("ServerVersionInfo"), attributes)
    return root, etree.SubElement(root, f"{{{SOAP}}}Body")


def fault(error: SoapFault, version: str, build: tuple[int, int, int, int]) -> bytes:
    root, body = envelope(version, build)
    element = etree.SubElement(body, f"{{{SOAP}}}Fault")
    etree.SubElement(element, "faultcode").text = f"t:{error.code}" if error.code else "s:Client"
    faultstring = etree.SubElement(element, "faultstring")
    faultstring.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    faultstring.text = error.text
    if error.code is not None:
        detail = etree.SubElement(element, "detail")
        etree.SubElement(detail, f"{{{ENS}}}ResponseCode", nsmap={"e": ENS}).text = error.code
        etree.SubElement(detail, f"{{{ENS}}}Message", nsmap={"e": ENS}).text = error.text
        if error.values:
            message_xml = etree.SubElement(detail, t("MessageXml"))
            for name, value in error.values.items():
                etree.SubElement(message_xml, t("Value"), Name=name).text = value
    return serialize(root)


def response(operation: str) -> tuple[XmlElement, XmlElement]:
    """``m:<operation>Response`` and its ``m:ResponseMessages``."""
    element = etree.Element(m(f"{operation}Response"), nsmap=NSMAP)
    return element, etree.SubElement(element, m("ResponseMessages"))


def success_message(messages: XmlElement, operation: str) -> XmlElement:
    message = etree.SubElement(messages, m(f"{operation}ResponseMessage"), ResponseClass="Success")
    etree.SubElement(message, m("ResponseCode")).text = "NoError"
    return message


def error_message(messages: XmlElement, operation: str, code: str, text: str) -> XmlElement:
    message = etree.SubElement(messages, m(f"{operation}ResponseMessage"), ResponseClass="Error")
    etree.SubElement(message, m("MessageText")).text = text
    etree.SubElement(message, m("ResponseCode")).text = code
    etree.SubElement(message, m("DescriptiveLinkKey")).text = "0"
    return message


def serialize(element: XmlElement) -> bytes:
    data: bytes = etree.tostring(element, xml_declaration=True, encoding="utf-8")
    return data


def render_folder(
    parent: XmlElement,
    *,
    name: str,
    folder_id: str,
    parent_id: str | None,
    total_count: int,
    fields: frozenset[str],
) -> None:
    """A GetFolder result: ``BaseFolderType``'s elements in order ([MS-OXWSFOLD] 3.1.4.6);
    the calendar is a ``t:CalendarFolder``, the root a ``t:Folder``."""
    calendar = name == "calendar"
    element = etree.SubElement(parent, t("CalendarFolder" if calendar else "Folder"))
    etree.SubElement(element, t("FolderId"), Id=folder_id, ChangeKey="AQAAAA==")
    parent_attributes = {"Id": parent_id, "ChangeKey": "AQAAAA=="} if parent_id else {}
    entries: list[tuple[str, Render | None]] = [
        ("folder:ParentFolderId", _text("ParentFolderId", None, **parent_attributes)),
        ("folder:FolderClass", _text("FolderClass", "IPF.Appointment" if calendar else None)),
        ("folder:DisplayName", _text("DisplayName", "Calendar" if calendar else None)),
        ("folder:TotalCount", _text("TotalCount", str(total_count))),
        ("folder:ChildFolderCount", _text("ChildFolderCount", "0" if calendar else "1")),
        ("folder:EffectiveRights", _effective_rights),
        ("folder:UnreadCount", None if calendar else _text("UnreadCount", "0")),
    ]
    for field_uri, render in entries:
        if field_uri in fields and render is not None:
            render(element)


def _effective_rights(parent: XmlElement) -> None:
    rights = etree.SubElement(parent, t("EffectiveRights"))
    for right in (
        "CreateAssociated",
        "CreateContents",
        "CreateHierarchy",
        "Delete",
        "Modify",
        "Read",
        "ViewPrivateItems",
    ):
        etree.SubElement(rights, t(right)).text = "true"


def render_item(parent: XmlElement, item: CalendarItem, shape: Shape) -> None:
    """A ``t:CalendarItem`` in schema order; unset properties are simply absent."""
    element = etree.SubElement(parent, t("CalendarItem"))
    etree.SubElement(element, t("ItemId"), Id=item.item_id, ChangeKey=item.changekey)
    uris, master = shape.field_uris, item.recurrence is not None
    zone_id = IANA_TO_MS_TIMEZONE_MAP[item.timezone][0]
    kind = "RecurringMaster" if master else "Single"  # t:CalendarItemTypeType
    entries: list[tuple[bool, Render | None]] = [
        ("item:Subject" in uris, _text("Subject", item.subject)),
        ("item:Body" in uris, _text("Body", item.body or None, BodyType="Text")),
        (shape.cecp_uri is not None, _cecp(shape.cecp_uri, item)),
        ("calendar:UID" in uris, _text("UID", item.uid)),
        ("calendar:Start" in uris, _text("Start", utc(item.start))),
        ("calendar:End" in uris, _text("End", utc(item.end))),
        ("calendar:IsAllDayEvent" in uris, _text("IsAllDayEvent", _bool(item.all_day))),
        ("calendar:Location" in uris, _text("Location", item.location or None)),
        ("calendar:IsRecurring" in uris, _text("IsRecurring", _bool(master))),
        ("calendar:CalendarItemType" in uris, _text("CalendarItemType", kind)),
        ("calendar:Recurrence" in uris, _recurrence(item) if master else None),
        ("calendar:ModifiedOccurrences" in uris, _moved(item) if item.moved else None),
        ("calendar:DeletedOccurrences" in uris, _cancelled(item) if item.cancelled else None),
        # TimeZoneDefinitionType's Periods and Transitions are optional; clients read the Id.
        ("calendar:StartTimeZone" in uris, _text("StartTimeZone", None, Id=zone_id)),
        ("calendar:EndTimeZone" in uris, _text("EndTimeZone", None, Id=zone_id)),
    ]
    for wanted, render in entries:
        if wanted and render is not None:
            render(element)


def _text(tag: str, text: str | None, **attributes: str) -> Render | None:
    """A child ``t:<tag>``; no text and no attributes means the property is unset."""
    if text is None and not attributes:
        return None

    def render(parent: XmlElement) -> None:
        etree.SubElement(parent, t(tag), attributes).text = text

    return render


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _cecp(uri: XmlElement | None, item: CalendarItem) -> Render | None:
    if uri is None or item.cecp is None:
        return None

    def render(parent: XmlElement) -> None:
        prop = etree.SubElement(parent, t("ExtendedProperty"))
        prop.append(etree.Element(t("ExtendedFieldURI"), dict(uri.attrib)))
        etree.SubElement(prop, t("Value")).text = json.dumps(item.cecp)

    return render


def _recurrence(item: CalendarItem) -> Render:
    """[MS-OXWSMTGS] 2.2.4.25: a pattern ([MS-OXWSCDATA] 2.2.7.1), then a range (2.2.7.2)."""
    rule, first = item.recurrence, item.start.astimezone(item.zone)
    assert rule is not None

    def render(parent: XmlElement) -> None:
        element = etree.SubElement(parent, t("Recurrence"))
        if isinstance(rule, Weekly):
            pattern = etree.SubElement(element, t("WeeklyRecurrence"))
            etree.SubElement(pattern, t("Interval")).text = str(rule.interval)
            days = " ".join(DAY_NAMES[day] for day in rule.days)  # t:DaysOfWeekType is a list
            etree.SubElement(pattern, t("DaysOfWeek")).text = days
        else:
            pattern = etree.SubElement(element, t("DailyRecurrence"))
            etree.SubElement(pattern, t("Interval")).text = str(rule.interval)
        if rule.until is not None:
            boundary = etree.SubElement(element, t("EndDateRecurrence"))
        elif rule.count is not None:
            boundary = etree.SubElement(element, t("NumberedRecurrence"))
        else:
            boundary = etree.SubElement(element, t("NoEndRecurrence"))
        # xs:date with the series zone's offset, as Exchange writes it ("2014-03-08-08:00").
        etree.SubElement(boundary, t("StartDate")).text = _xs_date(first)
        if rule.until is not None:
            until = datetime.combine(rule.until, first.timetz())
            etree.SubElement(boundary, t("EndDate")).text = _xs_date(until)
        elif rule.count is not None:
            etree.SubElement(boundary, t("NumberOfOccurrences")).text = str(rule.count)

    return render


def _moved(item: CalendarItem) -> Render:
    def render(parent: XmlElement) -> None:
        element = etree.SubElement(parent, t("ModifiedOccurrences"))
        for moved in item.moved:  # t:OccurrenceInfoType, [MS-OXWSMTGS] 2.2.4.22
            occurrence = etree.SubElement(element, t("Occurrence"))
            etree.SubElement(occurrence, t("ItemId"), Id=moved.item_id, ChangeKey=item.changekey)
            etree.SubElement(occurrence, t("Start")).text = utc(moved.start)
            etree.SubElement(occurrence, t("End")).text = utc(moved.end)
            etree.SubElement(occurrence, t("OriginalStart")).text = utc(moved.original_start)

    return render


def _cancelled(item: CalendarItem) -> Render:
    def render(parent: XmlElement) -> None:
        element = etree.SubElement(parent, t("DeletedOccurrences"))
        for original_start in item.cancelled:  # t:DeletedOccurrenceInfoType: its original Start
            occurrence = etree.SubElement(element, t("DeletedOccurrence"))
            etree.SubElement(occurrence, t("Start")).text = utc(original_start)

    return render


def utc(value: datetime) -> str:
    """xs:dateTime in UTC with ``Z``, as Exchange serves item times."""
    return value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xs_date(value: datetime) -> str:
    offset = value.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return f"{value.date().isoformat()}Z"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"{value.date().isoformat()}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
