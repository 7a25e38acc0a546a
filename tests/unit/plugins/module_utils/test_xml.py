# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one XML helper: finding by local name, escaping, and writing a document back with its own prefixes."""
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _xml

SOAP = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><R xmlns="urn:a"><R2>x</R2><R2>y</R2>'
        '</R></s:Body></s:Envelope>')


def test_finding_by_local_name():
    root = ET.fromstring(SOAP)
    body = _xml.child(root, "Body")
    assert _xml.local_name(body.tag) == "Body" and _xml.child(root, "Nope") is None
    assert [n.text for n in _xml.children(_xml.first(root, "R"), "R2")] == ["x", "y"]
    assert _xml.first_text(root, "R2") == "x" and _xml.first_text(root, "Q") is None
    assert _xml.children(None) == []
    assert _xml.local_name(ET.Comment("c").tag) == ""


def test_escape_and_element():
    assert _xml.escape("<a & 'b' \"c\">") == "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;"
    assert _xml.element("n", None) == "<n />" and _xml.element("n", "") == "<n />"
    assert ET.fromstring(_xml.element("n", "a<&>b")).text == "a<&>b"


@pytest.mark.parametrize("text", [
    '<item xmlns="urn:x"><data on="False" /></item>',
    '<p:item xmlns:p="urn:p" xmlns:q="urn:q"><p:data q:on="1" /><q:other /></p:item>',
    '<item><p:data xmlns:p="urn:p" p:on="1">t</p:data></item>',
    '<item xmlns="urn:x" xmlns:a="urn:a" a:flag="1"><data /></item>',
    '<item><!-- kept --><?pi x?><data>a &amp; b</data></item>',
])
def test_to_string_round_trips_with_the_document_prefixes(text):
    root = _xml.parse_with_comments(text)
    written = _xml.to_string(root, _xml.namespaces(text))
    assert "ns0" not in written and "ns1" not in written
    assert ET.tostring(ET.fromstring(written)) == ET.tostring(ET.fromstring(text))
    for prefix, _uri in _xml.namespaces(text):
        assert ("xmlns:%s=" % prefix if prefix else "xmlns=") in written


def test_default_namespace_gets_a_prefix_when_unqualified_elements_would_fall_into_it():
    text = '<item xmlns="urn:x"><data xmlns="" /></item>'
    written = _xml.to_string(_xml.parse_with_comments(text), _xml.namespaces(text))
    reread = ET.fromstring(written)
    assert reread.tag == "{urn:x}item" and reread[0].tag == "data"


def test_writing_leaves_elementtree_prefixes_alone():
    """Another document written afterwards by ElementTree gets ElementTree's own prefixes, not ours."""
    text = '<mine:item xmlns:mine="urn:shared"><mine:data /></mine:item>'
    _xml.to_string(_xml.parse_with_comments(text), _xml.namespaces(text))
    other = ET.tostring(ET.Element("{urn:shared}thing"), encoding="unicode")
    assert "mine:" not in other


def test_namespaces_of_a_broken_document_are_what_was_read():
    assert _xml.namespaces('<a xmlns:p="urn:p"><b') == [("p", "urn:p")]
