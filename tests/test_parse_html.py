"""HTML snapshots: nodes by unique_id, labels, snippets, hostile input."""

from __future__ import annotations

from debugkit.parsers.html import HtmlSnapshot, snippet

PAGE = """<html><body>
<form>
  <label for="email" unique_id="AAAB">E-mail address</label>
  <input id="email" name="email" type="email" unique_id="AAAC">
  <label unique_id="AAAD">Remember me <input type="checkbox" unique_id="AAAE"></label>
  <button unique_id="AAAF" aria-label="Send it" style="%s">Go</button>
</form></body></html>""" % ("x" * 300)


def test_node_by_unique_id_and_its_label():
    doc = HtmlSnapshot(PAGE)
    email = doc.node("AAAC")
    assert email is not None and email.name == "input"
    assert doc.label_for(email) == "E-mail address"  # <label for>
    assert doc.label_for(doc.node("AAAE")) == "Remember me"  # wrapping label
    assert doc.label_for(doc.node("AAAF")) == "Send it"  # aria-label
    assert doc.node("ZZZZ") is None
    assert doc.has("AAAF") and not doc.has("xQ7z")


def test_snippet_is_trimmed():
    doc = HtmlSnapshot(PAGE)
    text = snippet(doc.node("AAAF"))
    assert text.startswith("<button") and text.endswith("Go</button>")
    assert "x" * 100 not in text  # long attribute values are cut


def test_hostile_html_is_parsed_not_run():
    hostile = '<div unique_id="AAAB"><script>alert(1)</script><img src=x onerror=alert(1)></div><p unique_id="AAAB">'
    doc = HtmlSnapshot(hostile + "<<<>>>&&&\x00")
    node = doc.node("AAAB")
    assert node is not None and node.name == "div"  # first one wins
    assert "<script>alert(1)</script>" in snippet(node)  # kept verbatim: reporters escape it
