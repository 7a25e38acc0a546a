# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ASP.NET ASMX and IIS put on the wire for the lab NS: both bindings, their errors, IIS pages.

* HttpPost (and HttpGet) binding: parameters from the form (or query string) by name, matched
  case-insensitively as ``NameValueCollection`` does, repeated names joined with commas; a missing
  one is ``System.InvalidOperationException: Missing parameter: <name>.`` (HTTP 500, text/plain).
  Results are XmlSerializer documents: ``<string xmlns=..>`` for primitives, ``<ArrayOfGuid
  xmlns:xsi xmlns:xsd xmlns=..>`` indented by two spaces for complex types, nothing for void.
* SOAP 1.1: routed by the SOAPAction header; parameters are the method element's children in
  the service namespace (an absent one is null, as XmlSerializer leaves it); results in
  ``<MethodResponse><MethodResult>``; faults with ``detail/exceptionType`` for ASDK exceptions.
"""

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl

from itms_lab.ns.asdk import NAMESPACE, parse_guid
from itms_lab.ns.store import ZERO_GUID

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
XML_DECL = '<?xml version="1.0" encoding="utf-8"?>'
TEXT_XML = "text/xml; charset=utf-8"
TEXT_PLAIN = "text/plain; charset=utf-8"
TEXT_HTML = "text/html; charset=utf-8"

PRIMITIVE_ROOTS = {"boolean": "boolean", "string": "string", "guid": "guid"}


class BindingError(Exception):
    """A request ASP.NET refuses before the method runs."""

    def __init__(self, message, exception="System.InvalidOperationException", frames=(), fault_code="soap:Client"):
        super(BindingError, self).__init__(message)
        self.message = message
        self.exception = exception
        self.frames = frames
        self.fault_code = fault_code


# --------------------------------------------------------------------------- XML writing

def escape_text(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _content(kind, value):
    """The children (list of (tag, content)) or the text of a result, as XmlSerializer writes it."""
    if kind == "ItemDetails":
        children = []
        for field, item in value:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, list):
                item = [("guid", g) for g in item]
            children.append((field, item))
        return children
    if kind == "ArrayOfItemDetails":
        return [("ItemDetails", _content("ItemDetails", v)) for v in value]
    if kind == "ArrayOfGuid":
        return [("guid", g) for g in value]
    if kind == "ArrayOfPushPolicyResult":
        return [("PushPolicyResult", [("Agent", agent), ("Status", status)]) for agent, status in value]
    if kind == "boolean":
        return "true" if value else "false"
    return "" if value is None else str(value)


def _render(tag, content, level, pretty, attrs=""):
    indent = "  " * level if pretty else ""
    newline = "\r\n" if pretty else ""
    if isinstance(content, list):
        if not content:
            return "%s<%s%s />" % (indent, tag, attrs)
        inner = newline.join(_render(t, c, level + 1, pretty) for t, c in content)
        return "%s<%s%s>%s%s%s%s</%s>" % (indent, tag, attrs, newline, inner, newline, indent, tag)
    if content == "":
        return "%s<%s%s />" % (indent, tag, attrs)
    return "%s<%s%s>%s</%s>" % (indent, tag, attrs, escape_text(content), tag)


def post_result(method, value):
    """HttpPost/HttpGet body of a method's result; None for a void method (an empty 200)."""
    if method.result == "void":
        return None
    content = _content(method.result, value)
    if isinstance(content, list):
        attrs = ' xmlns:xsi="%s" xmlns:xsd="%s" xmlns="%s"' % (XSI, XSD, NAMESPACE)
    else:
        attrs = ' xmlns="%s"' % NAMESPACE
    root = PRIMITIVE_ROOTS.get(method.result, method.result)
    return (XML_DECL + "\r\n" + _render(root, content, 0, True, attrs)).encode("utf-8")


def _envelope(body):
    return ('%s<soap:Envelope xmlns:soap="%s" xmlns:xsi="%s" xmlns:xsd="%s"><soap:Body>%s</soap:Body></soap:Envelope>'
            % (XML_DECL, SOAP11, XSI, XSD, body)).encode("utf-8")


def soap_result(method, value):
    if method.result == "void":
        return _envelope('<%sResponse xmlns="%s" />' % (method.name, NAMESPACE))
    result = _render(method.name + "Result", _content(method.result, value), 0, False)
    return _envelope('<%sResponse xmlns="%s">%s</%sResponse>' % (method.name, NAMESPACE, result, method.name))


def soap_fault(code, message, exception_type=None):
    """A SOAP 1.1 fault; an ASDK exception names its type in ``detail/exceptionType``."""
    if exception_type:
        detail = "<detail><exceptionType>%s</exceptionType><stackTrace/><innerException/></detail>" % escape_text(exception_type)
    else:
        detail = "<detail />"
    return _envelope("<soap:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring>%s</soap:Fault>"
                     % (code, escape_text(message), detail))


def exception_text(exception, message, frames):
    """An exception as ASP.NET's HttpServerProtocol.WriteException writes it for HttpPost/HttpGet."""
    lines = ["%s: %s" % (exception, message)] + ["   at %s" % frame for frame in frames]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def asdk_post_error(method, fault):
    """An ASDK exception under HttpPost: the SoapException text; the lab names the ASDK type in it."""
    signature = ", ".join("%s %s" % ("Guid" if kind == "guid" else "String", name) for name, kind in method.params)
    return exception_text("System.Web.Services.Protocols.SoapException", "%s: %s" % (fault.exception_type, fault.message),
                          ["Altiris.ASDK.NS.%s.%s(%s)" % (method.service, method.name, signature)])


# --------------------------------------------------------------------------- requests

HTTP_INIT = ("System.Web.Services.Protocols.HttpServerProtocol.Initialize()",
             "System.Web.Services.Protocols.ServerProtocolFactory.Create(Type type, HttpContext context, HttpRequest request, "
             "HttpResponse response, Boolean& abortProcessing)")
READ_FRAMES = {
    "post": ("System.Web.Services.Protocols.ValueCollectionParameterReader.Read(NameValueCollection collection)",
             "System.Web.Services.Protocols.HtmlFormParameterReader.Read(HttpRequest request)",
             "System.Web.Services.Protocols.HttpServerProtocol.ReadParameters()",
             "System.Web.Services.Protocols.WebServiceHandler.CoreProcessRequest()"),
    "get": ("System.Web.Services.Protocols.ValueCollectionParameterReader.Read(NameValueCollection collection)",
            "System.Web.Services.Protocols.UrlParameterReader.Read(HttpRequest request)",
            "System.Web.Services.Protocols.HttpServerProtocol.ReadParameters()",
            "System.Web.Services.Protocols.WebServiceHandler.CoreProcessRequest()"),
}
FORMAT_FRAMES = ("System.Web.Services.Protocols.HttpServerProtocol.ReadParameters()",
                 "System.Web.Services.Protocols.WebServiceHandler.CoreProcessRequest()")


def value_collection(text):
    """A form or query string as ASP.NET's HttpValueCollection: names case-insensitive, repeats joined by ','."""
    values = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        key = name.lower()
        values[key] = value if key not in values else values[key] + "," + value
    return values


def read_value_parameters(method, values, binding):
    args = {}
    for name, _kind in method.params:
        value = values.get(name.lower())
        if value is None:
            raise BindingError("Missing parameter: %s." % name, frames=READ_FRAMES[binding])
        args[name] = value
    return args


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag):
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def soap_action_method(header):
    """The method a SOAPAction names, or None when it is not an action of the service namespace."""
    action = (header or "").strip()
    if len(action) >= 2 and action[0] == action[-1] == '"':
        action = action[1:-1]
    prefix = NAMESPACE + "/"
    return action[len(prefix):] if action.startswith(prefix) and "/" not in action[len(prefix):] else None


def unrecognized_action(header):
    action = (header or "").strip()
    if len(action) >= 2 and action[0] == action[-1] == '"':
        action = action[1:-1]
    return BindingError("Server did not recognize the value of HTTP Header SOAPAction: %s." % action)


def read_soap_parameters(method, body):
    """The parameters of a SOAP 1.1 request for ``method``; BindingError as ASP.NET's faults."""
    unable = "Server was unable to read request. ---> "
    if re.search(rb"<!DOCTYPE", body or b"", re.I):
        raise BindingError(unable + "There is an error in XML document (1, 1). ---> For security reasons DTD is "
                                    "prohibited in this XML document.")
    try:
        root = ET.fromstring(body or b"")
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise BindingError(unable + "There is an error in XML document (%d, %d). ---> %s" % (line, column, exc))
    if _local(root.tag) != "Envelope":
        raise BindingError(unable + "There is an error in XML document. ---> The root element is %s, not a SOAP "
                                    "Envelope." % _local(root.tag))
    if _namespace(root.tag) != SOAP11:
        raise BindingError("Possible SOAP version mismatch: Envelope namespace %s was unexpected. Expecting %s."
                           % (_namespace(root.tag), SOAP11), fault_code="soap:VersionMismatch")
    body_element = root.find("{%s}Body" % SOAP11)
    if body_element is None:
        raise BindingError(unable + "There is an error in XML document. ---> The SOAP Envelope has no Body.")
    elements = list(body_element)
    if not elements or elements[0].tag != "{%s}%s" % (NAMESPACE, method.name):
        found = "<%s xmlns='%s'>" % (_local(elements[0].tag), _namespace(elements[0].tag)) if elements else "An empty Body"
        raise BindingError(unable + "There is an error in XML document. ---> %s was not expected." % found)
    kinds = dict(method.params)
    args = dict((name, None) for name in kinds)
    seen = set()
    for child in elements[0]:
        if _namespace(child.tag) != NAMESPACE or _local(child.tag) not in kinds or _local(child.tag) in seen:
            continue  # XmlSerializer skips elements it does not know (wrong name, case or namespace)
        name = _local(child.tag)
        seen.add(name)
        if child.get("{%s}nil" % XSI) in ("true", "1"):
            continue
        if len(child):
            raise BindingError(unable + "There is an error in XML document. ---> Unexpected node type Element. "
                                        "ReadElementString method can only be called on elements with simple or empty "
                                        "content. (element %s)" % name)
        text = child.text or ""
        if kinds[name] == "guid":
            guid = parse_guid(text)
            if guid is None:
                raise BindingError(unable + "There is an error in XML document. ---> Guid should contain 32 digits with "
                                            "4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
            text = guid
        args[name] = text
    for name, kind in method.params:
        if kind == "guid" and args[name] is None:
            args[name] = ZERO_GUID  # an absent Guid element deserializes as Guid.Empty
    return args


# --------------------------------------------------------------------------- IIS and ASP.NET pages

def _iis_page(title, text):
    return ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
            '<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n'
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n'
            '<title>%s</title>\r\n</head>\r\n<body>\r\n<div id="header"><h1>Server Error</h1></div>\r\n'
            '<div id="content">\r\n <div class="content-container"><fieldset>\r\n  <h2>%s</h2>\r\n  <h3>%s</h3>\r\n'
            ' </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n' % (title, title, text)).encode("iso-8859-1")


IIS_PAGES = {
    401: ("401 - Unauthorized: Access is denied due to invalid credentials.",
          "You do not have permission to view this directory or page using the credentials that you supplied."),
    404: ("404 - File or directory not found.",
          "The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable."),
    405: ("405 - HTTP verb used to access this page is not allowed.",
          "The page you are looking for cannot be displayed because an invalid method (HTTP verb) was used to attempt access."),
    500: ("500 - Internal server error.",
          "There is a problem with the resource you are looking for, and it cannot be displayed."),
    502: ("502 - Web server received an invalid response while acting as a gateway or proxy server.",
          "There is a problem with the page you are looking for, and it cannot be displayed. When the Web server (while "
          "acting as a gateway or proxy) contacted the upstream content server, it received an invalid response from the "
          "content server."),
    504: ("504 - Gateway Timeout.",
          "The Web server (while acting as a gateway or proxy) did not receive a timely response from the upstream server."),
}


def iis_page(status):
    return _iis_page(*IIS_PAGES[status])


def http_sys_503():
    """HTTP.sys answers this itself when the application pool is stopped or overloaded."""
    return (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
            b'<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n'
            b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
            b'<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n'
            b'</BODY></HTML>\r\n')


def html_encode(text):
    """HttpUtility.HtmlEncode of .NET 4: the apostrophe becomes &#39;."""
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def aspnet_error_page(exception, message, frames, application="/Altiris/ASDK.NS"):
    """ASP.NET's error page for an unhandled exception (detailed, as with customErrors off)."""
    text = html_encode(message)
    trace = "\r\n".join("   %s" % f for f in frames)
    short = exception.rsplit(".", 1)[-1]
    return ("<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n        <title>%(text)s</title>\r\n"
            '        <meta name="viewport" content="width=device-width" />\r\n    </head>\r\n\r\n'
            '    <body bgcolor="white">\r\n\r\n'
            "            <span><H1>Server Error in '%(app)s' Application.<hr width=100%% size=1 color=silver></H1>\r\n\r\n"
            "            <h2> <i>%(text)s</i> </h2></span>\r\n\r\n"
            '            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">\r\n\r\n'
            "            <b> Description: </b>An unhandled exception occurred during the execution of the current web "
            "request. Please review the stack trace for more information about the error and where it originated in "
            "the code.\r\n\r\n            <br><br>\r\n\r\n"
            "            <b> Exception Details: </b>%(exc)s: %(text)s<br><br>\r\n\r\n"
            "            <b>Stack Trace:</b> <br><br>\r\n\r\n"
            '            <table width=100%% bgcolor="#ffffcc">\r\n               <tr>\r\n                  <td>\r\n'
            "                      <code><pre>\r\n\r\n[%(short)s: %(text)s]\r\n%(trace)s\r\n</pre></code>\r\n\r\n"
            "                  </td>\r\n               </tr>\r\n            </table>\r\n\r\n            <br>\r\n\r\n"
            "            <hr width=100%% size=1 color=silver>\r\n\r\n"
            "            <b>Version Information:</b>&nbsp;Microsoft .NET Framework Version:4.0.30319; ASP.NET "
            "Version:4.8.4700.0\r\n\r\n            </font>\r\n\r\n    </body>\r\n</html>\r\n"
            % {"text": text, "app": application, "exc": exception, "short": short, "trace": trace}).encode("utf-8")


def aspnet_runtime_error_page(application="/Altiris/ASDK.NS"):
    """ASP.NET's error page for a remote client with customErrors mode="RemoteOnly" (the default)."""
    return ("<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n        <title>Runtime Error</title>\r\n"
            '        <meta name="viewport" content="width=device-width" />\r\n    </head>\r\n\r\n'
            '    <body bgcolor="white">\r\n\r\n'
            "            <span><H1>Server Error in '%(app)s' Application.<hr width=100%% size=1 color=silver></H1>\r\n\r\n"
            "            <h2> <i>Runtime Error</i> </h2></span>\r\n\r\n"
            '            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">\r\n\r\n'
            "            <b> Description: </b>An application error occurred on the server. The current custom error "
            "settings for this application prevent the details of the application error from being viewed remotely "
            "(for security reasons). It could, however, be viewed by browsers running on the local server machine."
            "\r\n            <br><br>\r\n\r\n            </font>\r\n\r\n    </body>\r\n</html>\r\n"
            % {"app": application}).encode("utf-8")


def request_format_unrecognized(method_name):
    """What ASP.NET answers a /<Method> request when the HttpPost (or HttpGet) protocol is removed."""
    return aspnet_error_page(
        "System.InvalidOperationException",
        "Request format is unrecognized for URL unexpectedly ending in '/%s'." % method_name,
        ["System.Web.Services.Protocols.WebServiceHandlerFactory.CoreGetHandler(Type type, HttpContext context, "
         "HttpRequest request, HttpResponse response) +506",
         "System.Web.Services.Protocols.WebServiceHandlerFactory.GetHandler(HttpContext context, String verb, "
         "String url, String filePath) +94",
         "System.Web.HttpApplication.MaterializeHandler() +248"])


def help_page(service, operations):
    """The service page of an .asmx (the ASP.NET documentation protocol), listing the lab's operations."""
    rows = "\r\n".join('      <li><a href="%s.asmx?op=%s">%s</a></li>' % (service, op, op) for op in operations)
    return ("<html>\r\n  <head><title>%(s)s Web Service</title></head>\r\n  <body>\r\n"
            '    <span class="heading1">%(s)s</span>\r\n'
            "    <p>The following operations are supported (this is the itms.cem lab NS: the operations it "
            "implements).</p>\r\n    <ul>\r\n%(rows)s\r\n    </ul>\r\n  </body>\r\n</html>\r\n"
            % {"s": service, "rows": rows}).encode("utf-8")
