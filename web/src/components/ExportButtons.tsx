// "Export CSV" / "Export XLSX" for a list: the same filters as the list on screen, the file saved by the browser.
// Shown only to the roles that may export (the head of sales and admins).
import { useState } from 'react'
import { download, save } from '../api/download'
import { query } from '../api/http'
import type { Role } from '../api/types'
import { useI18n } from '../i18n'
import { exportsLists } from '../roles'

export function ExportButtons({ role, path, params, name }: {
  role: Role | undefined; path: string; name: string
  params: Record<string, string | undefined>
}) {
  const { t } = useI18n()
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  if (!exportsLists(role)) return null
  const run = async (format: 'csv' | 'xlsx') => {
    setBusy(format)
    setError(null)
    try {
      save(await download(path + query({ ...params, format }), `${name}.${format}`))
    } catch (failure) {
      setError(t('exportFailed', { message: (failure as Error).message }))
    } finally {
      setBusy(null)
    }
  }
  return (
    <div className="export-buttons" role="group" aria-label={t('export')}>
      {(['csv', 'xlsx'] as const).map((format) => (
        <button key={format} type="button" disabled={busy !== null} aria-busy={busy === format}
          onClick={() => void run(format)}>{t(format === 'csv' ? 'exportCsv' : 'exportXlsx')}</button>
      ))}
      {error && <span role="alert" className="notice bad">{error}</span>}
    </div>
  )
}
