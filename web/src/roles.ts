// Which screen each role may use (contracts/roles.json); a screen a role may not use is not shown at all.
import type { Role } from './api/types'

export type Screen = 'myDay' | 'board' | 'clients' | 'dashboard' | 'import' | 'admin' | 'notifications' | 'handOffs'

const SCREENS: Record<Screen, readonly Role[]> = {
  myDay: ['manager', 'head_of_sales'],
  board: ['manager', 'head_of_sales', 'admin'],
  clients: ['manager', 'head_of_sales', 'admin', 'marketer', 'accountant', 'service'],
  dashboard: ['manager', 'head_of_sales', 'admin', 'marketer'],
  import: ['head_of_sales', 'admin'],
  admin: ['admin', 'head_of_sales', 'marketer'], // each sees the settings it may change (adminSections)
  notifications: ['admin', 'head_of_sales', 'manager', 'marketer', 'accountant', 'service'],
  // The roles the pipeline's stages hand work to (the seeded and demo stages), and admins who oversee them.
  handOffs: ['admin', 'head_of_sales', 'accountant', 'service'],
}

export const ROLES: readonly Role[] = ['admin', 'head_of_sales', 'manager', 'marketer', 'accountant', 'service']

export type AdminSection = 'users' | 'teams' | 'pipelines' | 'lostReasons' | 'activityTypes' | 'channels' | 'fxRates'
  | 'salesPlans' | 'commissionSchemes'

// Per settings section, who may read it there and who may change it (the owning service's policy: identity for
// users and teams, deals for pipelines and lost reasons, clients for activity types and channels, analytics for
// the exchange rates).
const ADMIN_SECTIONS: Record<AdminSection, { read: readonly Role[]; write: readonly Role[] }> = {
  users: { read: ['admin', 'head_of_sales'], write: ['admin'] },
  teams: { read: ['admin', 'head_of_sales'], write: ['admin'] },
  pipelines: { read: ['admin', 'head_of_sales'], write: ['admin', 'head_of_sales'] },
  lostReasons: { read: ['admin', 'head_of_sales'], write: ['admin', 'head_of_sales'] },
  activityTypes: { read: ['admin'], write: ['admin'] },
  channels: { read: ['admin', 'marketer'], write: ['admin', 'marketer'] },
  fxRates: { read: ['admin'], write: ['admin'] },
  // the deals service's sales plans and commission schemes: set by the head of sales and admins
  salesPlans: { read: ['admin', 'head_of_sales'], write: ['admin', 'head_of_sales'] },
  commissionSchemes: { read: ['admin', 'head_of_sales'], write: ['admin', 'head_of_sales'] },
}

/** The settings sections a role sees, each with whether it may change it. */
export function adminSections(role: Role | undefined): { section: AdminSection; write: boolean }[] {
  if (!role) return []
  return (Object.keys(ADMIN_SECTIONS) as AdminSection[]).filter((section) => ADMIN_SECTIONS[section].read.includes(role))
    .map((section) => ({ section, write: ADMIN_SECTIONS[section].write.includes(role) }))
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

/** May this role export lists and KPI tables as files (CSV, XLSX): the head of sales and admins. */
export function exportsLists(role: Role | undefined): boolean {
  return role === 'head_of_sales' || role === 'admin'
}
