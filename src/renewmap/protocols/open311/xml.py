"""GeoReport v2's XML: the same dicts and lists as its JSON, with the standard's element names.

Pure (no I/O): a list becomes a container whose children take the singular name the standard
gives them (``<services><service>``, ``<attributes><attribute>``, ``<formats><format>``…);
None becomes an empty element, booleans ``true``/``false``. Characters that XML 1.0 cannot
carry (control characters a client may have sent in a description) are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Container → child element name, as the standard's examples spell them.
CHILDREN = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        name = CHILDREN.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, name), child)
    else:
        element.text = _text(value)


def render(root: str, value: Any) -> bytes:
    """``value`` under the element ``root``, as a UTF-8 document with its declaration."""
    element = ET.Element(root)
    _fill(element, value)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return DECLARATION + body
