// Timings of the web app in headless chromium, for bench/web (python -m bench.web):
//   node bench/measure.mjs board|dashboard '<json arguments>'  ->  one JSON line of milliseconds per round
// A round is a fresh navigation of a signed-in page. Everything is timed inside the page, by its own clock
// (performance.now(), 0 at the navigation's start), from a script installed before the app's own: on every frame
// it checks whether the screen is drawn (every card; the dashboard's figures, two charts and two tables); in the
// frame it first is, it notes the time and clicks (a card's "Win / Lose"; the "Last month" preset), then notes
// when the click's answer is drawn: interactive. So the figures hold no DevTools-protocol round trips, which on
// a loaded 2-core machine added 100-300 ms to a figure read from outside the page.
import { openBrowser, signIn } from '../e2e/browser.mjs'

const [what, raw] = process.argv.slice(2)
const args = JSON.parse(raw)

// Runs in the page (its source is handed to the browser): the screen's checks, by name.
function watch({ screen, cards }) {
  const found = {
    board: {
      drawn: () => document.querySelectorAll('li.card').length >= cards,
      click: () => {
        const card = document.querySelector('li.card')
        const toggle = [...card.querySelectorAll('button')].find((b) => b.textContent.includes('Win / Lose'))
        toggle.click()
        return () => !!card.querySelector('button.win')
      },
    },
    dashboard: {
      drawn: () => !!document.querySelector('[data-testid="won-count"]') &&
        document.querySelectorAll('.chart svg').length >= 2 && document.querySelectorAll('.dashboard table').length >= 2,
      click: () => {
        const preset = [...document.querySelectorAll('fieldset button')].find((b) => b.textContent === 'Last month')
        preset.click()
        return () => preset.getAttribute('aria-pressed') === 'true'
      },
    },
  }[screen]
  if (!location.pathname.endsWith(`/${screen}`)) return
  const times = (window.__benchTimes = {})
  const drawnYet = () => {
    if (!found.drawn()) return requestAnimationFrame(drawnYet)
    times.drawn = performance.now()
    const answered = found.click()
    const answeredYet = () => (answered() ? (times.interactive = performance.now()) : requestAnimationFrame(answeredYet))
    requestAnimationFrame(answeredYet)
  }
  requestAnimationFrame(drawnYet)
}

async function round(page) {
  await page.goto(`${args.base}/${what}`)
  await page.waitForFunction(() => window.__benchTimes?.interactive, null, { timeout: 30000 })
  const times = await page.evaluate(() => window.__benchTimes)
  const api = await page.evaluate((screen) => performance.getEntriesByType('resource')
    .filter((e) => screen === 'board' ? e.name.includes('/api/v1/deals') || e.name.includes('/board')
      : e.name.includes('/api/v1/dashboard'))
    .reduce((end, e) => Math.max(end, e.responseEnd), 0), what)
  const shown = what === 'board' ? { cards: await page.locator('li.card').count() }
    : { won: Number(await page.getByTestId('won-count').textContent()) }
  return { drawn: times.drawn, interactive: times.interactive, api_done: api, ...shown }
}

const browser = await openBrowser()
try {
  await signIn(browser.page, args.base, args.email)
  await browser.page.addInitScript(watch, { screen: what, cards: args.cards ?? 0 })
  await round(browser.page) // warm-up: the HTTP cache holds the app's files, as on a returning visit
  const rounds = []
  for (let i = 0; i < args.rounds; i++) rounds.push(await round(browser.page))
  process.stdout.write(JSON.stringify({ rounds }) + '\n')
} catch (error) {
  process.stderr.write(String(error.stack ?? error) + '\n')
  process.exitCode = 1
} finally {
  await browser.close()
}
