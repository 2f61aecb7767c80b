import { expect, it } from 'vitest'
import { adminSections, canUse, homeFor } from './roles'

it('shows a role only the screens it may use', () => {
  expect(canUse('manager', 'board')).toBe(true)
  expect(canUse('manager', 'import')).toBe(false)
  expect(canUse('manager', 'admin')).toBe(false)
  expect(canUse('head_of_sales', 'import')).toBe(true)
  expect(canUse('accountant', 'board')).toBe(false)
  expect(canUse(undefined, 'clients')).toBe(false)
})

it('starts every role on a screen it may use', () => {
  for (const role of ['admin', 'head_of_sales', 'manager', 'marketer', 'accountant', 'service'] as const) {
    const home = homeFor(role)
    const screen = ({ '/admin': 'admin', '/my-day': 'myDay', '/dashboard': 'dashboard', '/clients': 'clients' } as const)[home as '/admin']
    expect(canUse(role, screen)).toBe(true)
  }
})

it('gives each role the settings sections its services let it read, writable only where they let it write', () => {
  expect(adminSections('admin').every((s) => s.write)).toBe(true)
  expect(adminSections('admin')).toHaveLength(9)
  expect(adminSections('head_of_sales')).toEqual([
    { section: 'users', write: false }, { section: 'teams', write: false },
    { section: 'pipelines', write: true }, { section: 'lostReasons', write: true },
    { section: 'salesPlans', write: true }, { section: 'commissionSchemes', write: true },
  ])
  expect(adminSections('marketer')).toEqual([{ section: 'channels', write: true }])
  expect(adminSections('manager')).toEqual([])
  for (const role of ['manager', 'accountant', 'service'] as const) expect(canUse(role, 'admin')).toBe(false)
})
