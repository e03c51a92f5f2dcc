"""A student's feedback page in a class's --out folder: ``OUT/<id>/feedback.md`` and ``feedback.html``.

The Markdown is the report's own (``checks.engine.report.markdown.render``), which already puts every
text from the submission in a code span or a fenced block. The HTML is that Markdown rendered by
markdown-it-py (CommonMark with GFM tables; it comes with rich) into one self-contained page:

- raw HTML in the Markdown is shown as text, never passed through (``html: False``);
- links, autolinks and images are not rendered at all, so nothing on the page points at or
  fetches from anywhere; a Content-Security-Policy forbids every fetch besides (``default-src 'none'``);
- the style is inline, and there is no script.

``report.html`` links each student's row to ``<id>/feedback.html`` (``checks.engine.course.summary``).
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

FEEDBACK_MD, FEEDBACK_HTML = "feedback.md", "feedback.html"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.75em; text-align: left; vertical-align: top; }
pre { background: #f6f6f6; padding: 0.75em; overflow-x: auto; white-space: pre-wrap; }
code { background: #f6f6f6; padding: 0 0.2em; }
"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def markdown_renderer() -> MarkdownIt:
    """CommonMark with tables; no raw HTML, no links, no images (see the module docstring)."""
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable(["link", "image", "autolink"])


RENDERER = markdown_renderer()


def feedback_html(markdown: str, submission_id: str) -> str:
    """The page for ``markdown``, a submission's feedback, titled with its (escaped) id."""
    title = html.escape(f"rnn-grade: feedback for {submission_id}")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        RENDERER.render(markdown), "</body>", "</html>", "",
    ])
