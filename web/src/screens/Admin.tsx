// Settings: users and teams, pipelines and their stages, lost reasons, activity types, channels, exchange rates,
// sales plans and commission schemes.
// Each role sees the sections its services let it read, with the edits they let it make (roles.adminSections).
import { useAuth } from '../auth'
import { useI18n } from '../i18n'
import { adminSections, type AdminSection } from '../roles'
import { monthOf } from '../api/plans'
import { CommissionSchemes } from './admin/CommissionSchemes'
import { Entries } from './admin/Entries'
import { FxRates } from './admin/FxRates'
import { Pipelines } from './admin/Pipelines'
import { SalesPlans } from './admin/SalesPlans'
import { Users } from './admin/Users'

export default function Admin() {
  const { t } = useI18n()
  const { me } = useAuth()
  const section = (name: AdminSection, write: boolean) => {
    switch (name) {
      case 'users': return <Users write={write} />
      case 'teams': return <Entries title={t('teams')} path="/teams" write={write} toggles={false} also={[['admin', '/users']]} />
      case 'pipelines': return <Pipelines write={write} />
      case 'lostReasons': return <Entries title={t('lostReasons')} path="/lost-reasons" write={write} also={[['lost-reasons']]} />
      case 'activityTypes': return <Entries title={t('activityTypes')} path="/activity-types" write={write} coded />
      case 'channels': return <Entries title={t('channelsAdmin')} path="/channels" write={write} coded />
      case 'fxRates': return <FxRates />
      case 'salesPlans': return <SalesPlans write={write} />
      case 'commissionSchemes': return <CommissionSchemes write={write} month={monthOf(new Date())} />
    }
  }
  return (
    <div>
      <h1>{t('admin')}</h1>
      <div className="grid">{adminSections(me?.role).map(({ section: name, write }) => <div key={name}>{section(name, write)}</div>)}</div>
    </div>
  )
}
