"""The web app's budgets: the initial JavaScript (gzipped) of the built app; the pipeline board with 500 open
deals interactive in headless chromium; the head of sales' dashboard at 1M deals in the analytics read models.

The board and the dashboard are measured on the real system (`glassbox run --port-offset N`, the gateway serving
web/dist) with web/bench/measure.mjs driving Debian's chromium; each round is a fresh navigation of a signed-in
page with the app's files in the HTTP cache, timed by the page's own clock from the navigation's start, inside
the page (a script installed before the app's notes the frame the screen is drawn in and clicks in it)."""
