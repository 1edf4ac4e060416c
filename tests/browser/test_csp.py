"""The Content-Security-Policy in a real browser: the map pages' own (nonce-carrying) scripts run, a script
injected without the nonce does not, and the console tells (which fails any other browser test).

Chromium posts the report to /csp-report only a minute or so later, so the report itself is checked in
tests/core/test_security_headers.py with the body Chromium sends.
"""

from __future__ import annotations


def test_injected_inline_script_is_refused(browser_page):
    page = browser_page.page
    browser_page.goto("/maps/layers")
    page.wait_for_selector(".layer-tree")
    # The map's inline Folium script carries the nonce: Leaflet built the map.
    map_name = page.evaluate("document.querySelector('.folium-map').id")
    assert page.evaluate("m => typeof window[m].getZoom() === 'number'", map_name)
    ran = page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.injected = true;';
        document.body.appendChild(s);
        return window.injected === true;
    }""")
    assert ran is False
    assert any("script-src" in text for text in browser_page.csp_violations), browser_page.csp_violations
    browser_page.csp_violations.clear()  # expected here; anything else still fails the test
