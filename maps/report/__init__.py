"""The weekly situation report drawn: self-contained HTML (inline CSS, figures as ``data:`` URIs) and A4 PDF.

``weekly`` renders the page from :class:`hotspots.weekly.WeeklyReport`, ``charts`` draws its maps and
charts with matplotlib, ``templates/`` holds the page and its stylesheet.
"""
