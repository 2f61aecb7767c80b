// CSV import: upload, then follow the job (GET /imports/{id}) with a progress bar until it is done;
// the rows it refused are listed with their line and field messages.
import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { api } from '../api/http'
import type { ImportJob } from '../api/types'
import { ErrorNote } from '../components/ui'
import { useI18n } from '../i18n'

export function ImportScreen() {
  const { t } = useI18n()
  const [file, setFile] = useState<File | null>(null)
  const [jobId, setJobId] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const job = useQuery({ queryKey: ['import', jobId], enabled: !!jobId,
    queryFn: () => api.get<ImportJob>(`/imports/${jobId}`),
    refetchInterval: (q) => (q.state.data && ['done', 'failed'].includes(q.state.data.status) ? false : 1000) })
  const upload = async (event: React.FormEvent) => {
    event.preventDefault()
    if (!file) return
    const form = new FormData()
    form.append('file', file, file.name)
    try {
      setError(null)
      const started = await api.post<ImportJob>('/clients/import', form)
      setJobId(started.id)
    } catch (err) { setError(err) }
  }
  const data = job.data
  return (
    <div>
      <h1>{t('import')}</h1>
      <form className="panel" onSubmit={upload}>
        <label>{t('uploadCsv')}<input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} /></label>
        <button type="submit" disabled={!file}>{t('upload')}</button>
      </form>
      <ErrorNote error={error ?? job.error} />
      {data && (
        <section className="panel" aria-live="polite">
          <label htmlFor="import-progress">{t('progress')}: {data.status}</label>
          <progress id="import-progress" max={data.total_rows || 1} value={data.processed_rows} />
          <p data-testid="import-counts">{t('created')}: {data.created} · {t('failed')}: {data.failed_rows} · {t('duplicates')}: {data.skipped_duplicates}</p>
          {data.error && <p role="alert" className="error">{data.error}</p>}
          {data.errors.length > 0 && (
            <table data-testid="import-errors">
              <caption>{t('rowErrors')}</caption>
              <thead><tr><th scope="col">{t('line')}</th><th scope="col">{t('kind')}</th><th scope="col">{t('error', { message: '' })}</th></tr></thead>
              <tbody>{data.errors.map((row) => (
                <tr key={row.line}><td>{row.line}</td><td>{row.kind}</td>
                  <td>{Object.entries(row.errors).map(([field, messages]) => `${field}: ${Array.isArray(messages) ? messages.join(' ') : JSON.stringify(messages)}`).join('; ')}</td></tr>
              ))}</tbody>
            </table>
          )}
        </section>
      )}
    </div>
  )
}
