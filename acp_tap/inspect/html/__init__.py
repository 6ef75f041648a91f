"""The self-contained HTML view of cassettes (``show --html``, ``diff --html``).

- :mod:`.track` folds a cassette into the page's model (frames as columns, spans);
- :mod:`.embed` escapes JSON for the page and writes the frames' contents in chunks;
- :mod:`.alignment` pairs the turns of two conversations for ``diff --html``;
- :mod:`.page` assembles template, style, script and data under a strict CSP;
- :mod:`.output` writes the file atomically;
- ``assets/`` holds the template, style sheet and script (shipped as package data).
"""
