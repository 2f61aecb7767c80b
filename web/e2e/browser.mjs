// Headless Debian chromium through playwright-core (no browser download): a fresh profile per run, and the
// checks every scenario shares (signing in, axe-core, no Content-Security-Policy violation).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
export const PASSWORD = 'glassbox-demo'

export async function openBrowser({ width = 1366, height = 900 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'glassbox-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width, height }, locale: 'en-US',
  })
  const cspViolations = []
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
  })
  const page = context.pages()[0] ?? await context.newPage()
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
  })
  page.setDefaultTimeout(15000)
  return {
    page, context, cspViolations,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }) },
  }
}

export async function signIn(page, base, email) {
  await page.goto(`${base}/login`)
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('details.user-menu').waitFor()  // the user menu: sign out, sign out everywhere
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core's serious and critical violations on the page as it is now (evaluated through the DevTools
 * protocol, which the page's CSP does not govern: the app itself never runs inline code). */
export async function seriousViolations(page) {
  await page.evaluate(AXE)
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
}
