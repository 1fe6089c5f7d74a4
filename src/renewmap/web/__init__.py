"""Presentation: every HTML page and HTML file, rendered from the Jinja2 templates in
``web/templates`` (autoescaped) with the data each page needs (its site plan as JSON, its
words in the reader's language). What belongs here: turning service results into a page.
What does not: HTML in Python strings, queries, business rules (those are ``services``)."""
