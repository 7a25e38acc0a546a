# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one XML helper of the collection: names without namespaces, finding elements, escaping, and
writing a tree back with the document's own namespace prefixes. No I/O.

The NS answers in several namespaces (SOAP, the ASDK's, none at all for the POST binding) and the
items' XML is not publicly documented, so elements are found by their local name wherever that is
safe, and documents are written back as close to how they were read as ElementTree allows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import io
import re
import xml.etree.ElementTree as ET

_GENERATED_PREFIX = re.compile(r"ns\d+$")


def local_name(tag):
    """An element's name without its namespace; "" for comments and processing instructions."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(element, name=None):
    """The child elements of ``element`` (none for None), only those with local name ``name`` if given."""
    if element is None:
        return []
    return [c for c in element if name is None or local_name(c.tag) == name]


def child(element, name):
    """The first child of ``element`` whose local name is ``name``, or None."""
    for node in children(element, name):
        return node
    return None


def first(element, name):
    """The first element of ``element``'s subtree (itself included) whose local name is ``name``, or None."""
    if element is None:
        return None
    for node in element.iter():
        if local_name(node.tag) == name:
            return node
    return None


def first_text(element, name):
    """The stripped text of ``first(element, name)``: None when there is no such element."""
    node = first(element, name)
    return None if node is None else (node.text or "").strip()


def escape(value):
    """``value`` as XML character data or an attribute value (quotes included)."""
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def element(name, value):
    """``<name>value</name>``, escaped; ``<name />`` for None or ""."""
    if value is None or value == "":
        return "<%s />" % name
    return "<%s>%s</%s>" % (name, escape(value), name)


def parse_with_comments(text):
    """A tree that keeps comments and processing instructions, so writing it back loses nothing."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    parser.feed(text)
    return parser.close()


def namespaces(text):
    """The (prefix, uri) declarations of an XML document, in document order ("" for a default namespace)."""
    found = []
    try:
        for _event, declaration in ET.iterparse(io.StringIO(text), events=("start-ns",)):
            if declaration not in found:
                found.append(declaration)
    except ET.ParseError:
        pass
    return found


def _split(name):
    if name.startswith("{"):
        uri, local = name[1:].split("}", 1)
        return uri, local
    return None, name


def to_string(root, declared=()):
    """``root`` as text, with the prefixes the document declared (``declared``: ``namespaces(text)``).

    ElementTree would write its own ns0, ns1 ... prefixes unless its process-wide prefix registry were
    changed. Instead a copy of the tree is given the prefixed names, and the declarations are written
    on its root element; a default namespace stays unprefixed when every element is in it.
    """
    tree = copy.deepcopy(root)
    used = []
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        uri, _local = _split(node.tag)
        if uri is not None and (uri, False) not in used:
            used.append((uri, False))
        for key in node.attrib:
            uri, _local = _split(key)
            if uri is not None and (uri, True) not in used:
                used.append((uri, True))
    unqualified_elements = any(isinstance(n.tag, str) and not n.tag.startswith("{") for n in tree.iter())

    prefixes = {}  # uri -> prefix ("" for the default namespace)
    taken = set()
    for prefix, uri in declared:
        if uri in prefixes or prefix in taken or _GENERATED_PREFIX.match(prefix or ""):
            continue
        if prefix == "" and (unqualified_elements or (uri, True) in used):
            continue  # unqualified elements or attributes would fall into it; it gets a prefix below
        prefixes[uri] = prefix
        taken.add(prefix)
    counter = 0
    for uri, _is_attribute in used:
        if uri in prefixes:
            continue
        while "ns%d" % counter in taken:
            counter += 1
        prefixes[uri] = "ns%d" % counter
        taken.add(prefixes[uri])

    def qualified(name):
        uri, local = _split(name)
        if uri is None:
            return local
        prefix = prefixes[uri]
        return "%s:%s" % (prefix, local) if prefix else local

    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        node.tag = qualified(node.tag)
        if any(k.startswith("{") for k in node.attrib):
            attributes = [(qualified(k), v) for k, v in node.attrib.items()]
            node.attrib.clear()
            node.attrib.update(attributes)
    in_use = set(uri for uri, _is_attribute in used)
    declarations = sorted(("xmlns:%s" % p if p else "xmlns", uri) for uri, p in prefixes.items() if uri in in_use)
    attributes = declarations + list(tree.attrib.items())
    tree.attrib.clear()
    tree.attrib.update(attributes)
    return ET.tostring(tree, encoding="unicode")
