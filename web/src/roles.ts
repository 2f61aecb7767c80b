// Which screen each role may use (contracts/roles.json); a screen a role may not use is not shown at all.
import type { Role } from './api/types'

export type Screen = 'myDay' | 'board' | 'clients' | 'dashboard' | 'import' | 'admin' | 'notifications'

const SCREENS: Record<Screen, readonly Role[]> = {
  myDay: ['manager', 'head_of_sales'],
  board: ['manager', 'head_of_sales', 'admin'],
  clients: ['manager', 'head_of_sales', 'admin', 'marketer', 'accountant', 'service'],
  dashboard: ['manager', 'head_of_sales', 'admin', 'marketer'],
  import: ['head_of_sales', 'admin'],
  admin: ['admin'],
  notifications: ['admin', 'head_of_sales', 'manager', 'marketer', 'accountant', 'service'],
}

export function canUse(role: Role | undefined, screen: Screen): boolean {
  return !!role && SCREENS[screen].includes(role)
}

export function homeFor(role: Role): string {
  if (role === 'admin') return '/admin'
  if (role === 'manager' || role === 'head_of_sales') return '/my-day'
  if (role === 'marketer') return '/dashboard'
  return '/clients'
}

/** May this role create and change clients and their contacts (the clients service's writers). */
export function writesClients(role: Role | undefined): boolean {
  return role === 'admin' || role === 'head_of_sales' || role === 'manager'
}

/** May this role pick another owner's deals on the board (a manager sees only their own anyway). */
export function seesTeam(role: Role | undefined): boolean {
  return role === 'head_of_sales' || role === 'admin'
}
