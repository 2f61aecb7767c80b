// Timings of the web app in headless chromium, for bench/web (python -m bench.web):
//   node bench/measure.mjs board|dashboard '<json arguments>'  ->  one JSON line of milliseconds per round
// A round is a fresh navigation of a signed-in page; the clock is the page's own (performance.now(), 0 at the
// navigation's start), read once the screen is interactive: every card drawn (or the dashboard's figures and
// charts), and a click on it answered.
import { openBrowser, signIn } from '../e2e/browser.mjs'

const [what, raw] = process.argv.slice(2)
const args = JSON.parse(raw)

async function board(page) {
  await page.goto(`${args.base}/board`)
  await page.waitForFunction((n) => document.querySelectorAll('li.card').length >= n, args.cards,
    { polling: 'raf', timeout: 30000 })
  const drawn = await page.evaluate(() => performance.now())
  // A click on the first card's "Win / Lose", answered when its buttons are drawn: clicked and timed inside the
  // page, so the time is the page's (a busy main thread delays it) and not the DevTools protocol's round trips.
  const interactive = await page.evaluate(() => new Promise((resolve) => {
    const card = document.querySelector('li.card')
    const toggle = [...card.querySelectorAll('button')].find((b) => b.textContent.includes('Win / Lose'))
    toggle.click()
    const answered = () => card.querySelector('button.win') ? resolve(performance.now()) : requestAnimationFrame(answered)
    requestAnimationFrame(answered)
  }))
  const api = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/v1/deals') || e.name.includes('/board'))
    .reduce((end, e) => Math.max(end, e.responseEnd), 0))
  return { drawn, interactive, api_done: api, cards: await page.locator('li.card').count() }
}

async function dashboard(page) {
  await page.goto(`${args.base}/dashboard`)
  await page.getByTestId('won-count').waitFor({ timeout: 30000 })
  await page.waitForFunction(() => document.querySelectorAll('.chart svg').length >= 2 &&
    document.querySelectorAll('.dashboard table').length >= 2, null, { polling: 'raf', timeout: 30000 })
  const drawn = await page.evaluate(() => performance.now())
  // A period preset clicked inside the page, answered when it shows as chosen (see the board's note).
  const interactive = await page.evaluate(() => new Promise((resolve) => {
    const preset = [...document.querySelectorAll('fieldset button')].find((b) => b.textContent === 'Last month')
    preset.click()
    const answered = () => preset.getAttribute('aria-pressed') === 'true' ? resolve(performance.now()) : requestAnimationFrame(answered)
    requestAnimationFrame(answered)
  }))
  const api = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/v1/dashboard')).reduce((end, e) => Math.max(end, e.responseEnd), 0))
  return { drawn, interactive, api_done: api, won: Number(await page.getByTestId('won-count').textContent()) }
}

const browser = await openBrowser()
try {
  await signIn(browser.page, args.base, args.email)
  const measure = what === 'board' ? board : dashboard
  await measure(browser.page) // warm-up: the HTTP cache holds the app's files, as on a returning visit
  const rounds = []
  for (let i = 0; i < args.rounds; i++) rounds.push(await measure(browser.page))
  process.stdout.write(JSON.stringify({ rounds }) + '\n')
} catch (error) {
  process.stderr.write(String(error.stack ?? error) + '\n')
  process.exitCode = 1
} finally {
  await browser.close()
}
