// The browser scenarios of tests/web (pytest starts the system and calls one scenario per test):
//   node e2e/scenarios.mjs <scenario> '<json arguments>'
// Prints one JSON line with what it saw; exits non-zero (with the reason on stderr) when a check fails.
import { mkdirSync } from 'node:fs'
import { openBrowser, seriousViolations, signIn } from './browser.mjs'

const [scenario, rawArgs = '{}'] = process.argv.slice(2)
const args = JSON.parse(rawArgs)
const base = args.base

function check(condition, message) {
  if (!condition) throw new Error(message)
}

const scenarios = {
  /** Sign in, land on My day, keep the session across a reload (the refresh cookie), fit a phone's width; the
   * notifications stream reaches the page through the gateway (the top bar's live mark). */
  async login() {
    const browser = await openBrowser()
    try {
      const { page } = browser
      await page.goto(`${base}/login`)
      await page.getByLabel('Password').fill('wrong-password')
      await page.getByLabel('E-mail').fill(args.email)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('alert').waitFor()
      await signIn(page, base, args.email)
      await page.getByRole('heading', { name: 'My day' }).waitFor()
      await page.locator('.live-dot[data-live="true"]').waitFor()
      const token = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))
      check(!token.includes('eyJ'), 'a token was written to web storage')
      await page.reload()
      await page.getByRole('heading', { name: 'My day' }).waitFor()
      const axe = await seriousViolations(page)
      await page.setViewportSize({ width: 360, height: 740 })
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth)
      check(overflow <= 360, `My day is ${overflow}px wide at 360px`)
      check(browser.cspViolations.length === 0, `CSP violations: ${browser.cspViolations}`)
      return { url: page.url(), axe }
    } finally { await browser.close() }
  },

  /** A manager drags a deal to the next stage, then wins it; a screenshot of the board. */
  async boardWin() {
    const browser = await openBrowser()
    try {
      const { page } = browser
      await signIn(page, base, args.email)
      await page.getByRole('link', { name: 'Pipeline' }).click()
      const card = page.locator('li.card', { hasText: args.title })
      await card.waitFor()
      const from = page.locator('section.column', { has: card })
      const fromStage = await from.getAttribute('data-stage')
      check(fromStage === args.fromStage, `the deal is in ${fromStage}, not ${args.fromStage}`)
      const target = page.locator(`section.column[data-stage="${args.toStage}"]`)
      const grip = card.locator('.card-grip')
      const start = await grip.boundingBox(), end = await target.locator('header').boundingBox()
      await page.mouse.move(start.x + start.width / 2, start.y + start.height / 2)
      await page.mouse.down()
      await page.mouse.move(start.x + 20, start.y + 20, { steps: 5 })
      await page.mouse.move(end.x + 40, end.y + 40, { steps: 15 })
      await page.mouse.up()
      await page.getByText(`Moved to ${args.toStage}`).waitFor()
      await target.locator('li.card', { hasText: args.title }).waitFor()
      // the columns' counts and sums follow the move (not networkidle: the notifications stream stays open)
      await target.locator('.column-totals', { hasText: /^[1-9]\d* deals?\b/ }).waitFor()
      mkdirSync(args.screenshots, { recursive: true })
      await page.screenshot({ path: `${args.screenshots}/board.png` })
      const axe = await seriousViolations(page)
      await page.reload()  // the move is the server's, not only the screen's
      const moved = page.locator(`section.column[data-stage="${args.toStage}"] li.card`, { hasText: args.title })
      await moved.waitFor()
      await moved.getByRole('button', { name: 'Win / Lose' }).click()
      await moved.getByRole('button', { name: 'Win', exact: true }).click()
      await page.getByText(`${args.title}: Won`).waitFor()
      await moved.waitFor({ state: 'detached' })
      check(browser.cspViolations.length === 0, `CSP violations: ${browser.cspViolations}`)
      return { axe }
    } finally { await browser.close() }
  },

  /** The head of sales sees the win on the dashboard (the won tile and the managers' table). */
  async dashboard() {
    const browser = await openBrowser()
    try {
      const { page } = browser
      await signIn(page, base, args.email)
      await page.getByRole('link', { name: 'Dashboard' }).click()
      await page.getByTestId('won-count').waitFor()
      const won = await page.getByTestId('won-count').textContent()
      check(Number(won) >= args.minWon, `the dashboard shows ${won} won, expected at least ${args.minWon}`)
      const managerRow = page.locator('tr', { hasText: args.managerName })
      await managerRow.first().waitFor()
      // the screenshot once the first screen is complete: the weekly trend drawn, nothing still loading
      await page.locator('.chart').first().locator('svg path').first().waitFor({ state: 'attached' })
      await page.waitForFunction(() => !document.querySelector('.dashboard p[role="status"]'))
      await page.waitForTimeout(300)
      mkdirSync(args.screenshots, { recursive: true })
      await page.screenshot({ path: `${args.screenshots}/dashboard.png`, fullPage: false })
      const axe = await seriousViolations(page)
      check(browser.cspViolations.length === 0, `CSP violations: ${browser.cspViolations}`)
      return { won: Number(won), managerRow: await managerRow.first().textContent(), axe }
    } finally { await browser.close() }
  },

  /** Another manager finds nothing of the first one's client, by search or by its address. */
  async isolation() {
    const browser = await openBrowser()
    try {
      const { page } = browser
      await signIn(page, base, args.email)
      await page.getByRole('link', { name: 'Clients' }).click()
      await page.getByLabel('Search').fill(args.clientName)
      await page.getByText('Nothing here').waitFor()
      const listed = await page.locator('.client-list a', { hasText: args.clientName }).count()
      check(listed === 0, 'the other manager\'s client is listed')
      const axe = await seriousViolations(page)
      await page.goto(`${base}/clients/${args.clientId}`)
      await page.getByRole('alert').waitFor()
      check(await page.getByRole('heading', { name: args.clientName }).count() === 0, 'the card was shown')
      return { axe }
    } finally { await browser.close() }
  },

  /** From the clients list to a client's card, and on to its deal's card with the stage history. */
  async cards() {
    const browser = await openBrowser({ width: 360, height: 740 })
    try {
      const { page } = browser
      await signIn(page, base, args.email)
      await page.goto(`${base}/clients`)
      await page.getByLabel('Search').fill(args.clientName)
      await page.locator('.client-list a', { hasText: args.clientName }).click()
      await page.getByRole('heading', { name: args.clientName }).waitFor()
      await page.getByRole('heading', { name: 'Timeline' }).waitFor()
      // a contact added on the card, at a phone's width
      await page.getByRole('button', { name: 'Add a contact' }).click()
      const contactForm = page.getByRole('form', { name: 'Add a contact' })
      await contactForm.getByLabel('Name').fill(args.contactName)
      await contactForm.getByLabel('E-mail').fill('not-an-address')
      await contactForm.getByRole('button', { name: 'Save' }).click()
      await contactForm.locator('.field-error').first().waitFor()  // the server's message at the field
      await contactForm.getByLabel('E-mail').fill('contact@example.com')
      await contactForm.getByRole('button', { name: 'Save' }).click()
      await page.locator('li', { hasText: args.contactName }).first().waitFor()
      const clientAxe = await seriousViolations(page)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      await page.getByRole('link', { name: args.dealTitle }).click()
      await page.getByRole('heading', { name: args.dealTitle }).waitFor()
      await page.locator('ol.rows li').first().waitFor()
      const history = await page.locator('ol.rows li').allTextContents()
      const status = await page.locator('.status-won, .status-open, .status-lost').textContent()
      const dealAxe = await seriousViolations(page)
      check(browser.cspViolations.length === 0, `CSP violations: ${browser.cspViolations}`)
      return { width, history, status, axe: [...clientAxe, ...dealAxe] }
    } finally { await browser.close() }
  },

  /** An admin lands on the settings: users, pipelines and stages, the reference lists. */
  async admin() {
    const browser = await openBrowser()
    try {
      const { page } = browser
      await signIn(page, base, args.email)
      await page.getByRole('heading', { name: 'Admin' }).waitFor()
      await page.getByRole('cell', { name: args.email }).waitFor()
      await page.locator('caption', { hasText: args.pipeline }).waitFor()
      const nav = await page.getByRole('navigation').getByRole('link').allTextContents()
      // a new user: a too short first password is refused at its field, then the user is listed
      await page.getByText('New user', { exact: true }).click()
      const form = page.getByRole('form', { name: 'New user' })
      await form.getByLabel('E-mail').fill(args.newEmail)
      await form.getByLabel('Name').fill(args.newName)
      await form.getByLabel('Role').selectOption('marketer')
      await form.getByLabel(/First password/).fill('short')
      await form.getByRole('button', { name: 'Add' }).click()
      await form.getByLabel(/First password/).and(page.locator('[aria-invalid="true"]')).waitFor()
      await form.getByLabel(/First password/).fill('a long first password')
      await form.getByRole('button', { name: 'Add' }).click()
      await page.getByRole('cell', { name: args.newEmail }).waitFor()
      const axe = await seriousViolations(page)
      check(browser.cspViolations.length === 0, `CSP violations: ${browser.cspViolations}`)
      await page.locator('details.user-menu summary').click()
      await page.getByRole('button', { name: 'Sign out everywhere' }).click()
      await page.getByRole('button', { name: 'Sign in' }).waitFor()
      return { url: page.url(), nav, axe }
    } finally { await browser.close() }
  },

  /** A CSV with a bad row: the progress bar runs, the job ends, the bad row is listed by its line. */
  async importCsv() {
    const browser = await openBrowser()
    try {
      const { page } = browser
      await signIn(page, base, args.email)
      await page.getByRole('link', { name: 'Import' }).click()
      await page.getByLabel('Upload a CSV file').setInputFiles(args.file)
      await page.getByRole('button', { name: 'Upload', exact: true }).click()
      await page.locator('progress').waitFor()
      await page.getByText('Progress: done').waitFor({ timeout: 60000 })
      const counts = await page.getByTestId('import-counts').textContent()
      const errors = await page.getByTestId('import-errors').locator('tbody tr').allTextContents()
      const axe = await seriousViolations(page)
      return { counts, errors, axe }
    } finally { await browser.close() }
  },
}

try {
  check(scenario in scenarios, `no scenario ${scenario}`)
  const result = await scenarios[scenario]()
  process.stdout.write(JSON.stringify(result) + '\n')
} catch (error) {
  process.stderr.write(`${scenario}: ${error.stack ?? error}\n`)
  process.exit(1)
}
