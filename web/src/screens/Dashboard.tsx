// The dashboard: GET /dashboard (funnel, managers, stalled deals, summary in one call) plus the other KPIs;
// each as a chart with numbers on hover and as a table. A manager gets their own numbers (the API decides).
import { useEffect, useMemo, useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { Change, type FigureChange } from '../components/Change'
import { Chart } from '../components/Chart'
import { PlanPanel } from '../components/PlanPanel'
import { ErrorNote, Loading, Section } from '../components/ui'
import { useI18n, type Key } from '../i18n'
import { comparedSummaryQuery, dashboardQuery, kpiQuery, presetPeriod, seriesInterval, seriesQuery, type Period } from './dashboardData'

export { presetPeriod }

type Money = { amount: string; currency: string }
type Row = Record<string, unknown>
interface Part { data: Row | null; partial: boolean; error?: string }
interface DashboardAnswer { scope: string; funnel: Part; managers: Part; stalled_deals: Part; summary: Part }
interface Comparison { period: Period; figures: Record<string, FigureChange> }

const PRESETS: Key[] = ['thisMonth', 'lastMonth', 'thisQuarter', 'thisYear']

const items = (part: Row | null | undefined): Row[] => ((part?.items ?? part?.stages ?? []) as Row[])
const amount = (value: unknown): number => Number((value as Money | undefined)?.amount ?? 0)

/** True once `ready` has been true for a painted frame: what waits for it does not compete for a small machine's
 * CPU (the browser, the gateway and the analytics service share it) with drawing the first screen. */
function useAfterPaint(ready: boolean): boolean {
  const [painted, setPainted] = useState(false)
  useEffect(() => {
    setPainted(false)
    if (!ready) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const frame = requestAnimationFrame(() => { timer = setTimeout(() => setPainted(true)) })
    return () => { cancelAnimationFrame(frame); clearTimeout(timer) }
  }, [ready])
  return ready && painted
}

export default function Dashboard() {
  const { t, money } = useI18n()
  const [preset, setPreset] = useState('thisMonth')
  const [period, setPeriod] = useState<Period>(presetPeriod('thisMonth'))
  const main = useQuery(dashboardQuery<DashboardAnswer>(period))
  // The KPIs below the first screen are asked for once the main figures have arrived and been drawn.
  const mainDone = useAfterPaint(main.isSuccess || main.isError)
  const kpi = (name: string) => ({ ...kpiQuery<Row>(name, period), enabled: mainDone })
  const cycle = useQuery(kpi('deal-cycle'))
  const campaigns = useQuery(kpi('campaigns'))
  const channels = useQuery(kpi('campaigns/by-channel'))
  const lost = useQuery(kpi('lost-reasons'))
  const segments = useQuery(kpi('segments'))
  const forecast = useQuery(kpi('forecast'))
  // The change of the main figures against the previous period, and their trend per week or month.
  const compared = useQuery({ ...comparedSummaryQuery<{ comparison?: Comparison }>(period), enabled: mainDone })
  const trend = useQuery({ ...seriesQuery<{ series?: Row[] }>(period), enabled: mainDone })
  const comparison = compared.data?.comparison
  const figure = (name: string) => comparison?.figures[name]
  const base = String(main.data?.summary.data?.base_currency ?? 'RUB')
  const fmt = (value: unknown) => money(amount(value), base)

  const pick = (name: string) => { setPreset(name); setPeriod(presetPeriod(name)) }
  const summary = main.data?.summary.data
  const funnel = items(main.data?.funnel.data)
  const managers = items(main.data?.managers.data)
  const stalled = items(main.data?.stalled_deals.data)
  const charts = useMemo(() => ({
    funnel: { series: [{ type: 'funnel', sort: 'none', left: '5%', width: '55%', data: funnel.map((s) => ({ name: String(s.name), value: Number(s.entered) })) }] },
    managers: { tooltip: { trigger: 'axis' }, legend: {}, grid: { containLabel: true }, xAxis: { type: 'category', data: managers.map((m) => m.name) },
      yAxis: [{ type: 'value' }, { type: 'value', max: 100 }],
      series: [{ name: t('revenue'), type: 'bar', data: managers.map((m) => amount(m.revenue_won)) },
        { name: `${t('winRate')} %`, type: 'line', yAxisIndex: 1, data: managers.map((m) => Math.round(Number(m.win_rate ?? 0) * 100)) }] },
    trend: { tooltip: { trigger: 'axis' }, legend: {}, grid: { containLabel: true },
      xAxis: { type: 'category', data: (trend.data?.series ?? []).map((b) => String(b.from)) },
      yAxis: [{ type: 'value' }, { type: 'value', minInterval: 1 }],
      series: [{ name: t('revenue'), type: 'bar', data: (trend.data?.series ?? []).map((b) => amount(b.revenue_won)) },
        { name: t('won'), type: 'line', yAxisIndex: 1, data: (trend.data?.series ?? []).map((b) => Number(b.won)) }] },
  }), [funnel, managers, trend.data, t])

  return (
    <div className="dashboard">
      <h1>{t('dashboard')}</h1>
      <p className="muted">{main.data?.scope === 'own' ? t('scopeOwn') : t('scopeTeam')}</p>
      <fieldset className="filters">
        <legend>{t('period')}</legend>
        {PRESETS.map((name) => (
          <button key={name} type="button" aria-pressed={preset === name} onClick={() => pick(name)}>{t(name)}</button>
        ))}
        <label>{t('from')}<input type="date" value={period.from} onChange={(e) => { setPreset(''); setPeriod({ ...period, from: e.target.value }) }} /></label>
        <label>{t('to')}<input type="date" value={period.to} onChange={(e) => { setPreset(''); setPeriod({ ...period, to: e.target.value }) }} /></label>
      </fieldset>
      {main.isLoading && <Loading />}<ErrorNote error={main.error} />
      {summary && (
        <dl className="tiles" data-testid="summary">
          <div><dt>{t('won')}</dt><dd data-testid="won-count">{String(summary.won)}</dd>
            <Change figure={figure('won')} period={comparison?.period} /></div>
          <div><dt>{t('revenue')}</dt><dd>{fmt(summary.revenue_won)}</dd>
            <Change figure={figure('revenue_won')} period={comparison?.period} format={(v) => money(v, base)} /></div>
          <div><dt>{t('winRate')}</dt><dd>{Math.round(Number(summary.win_rate ?? 0) * 100)}%</dd>
            <Change figure={figure('win_rate')} period={comparison?.period} ratio /></div>
          <div><dt>{t('stalledTile')}</dt><dd>{String(summary.stalled_deals)}</dd></div>
          <div><dt>{t('open')}</dt><dd>{fmt(summary.open_amount)}</dd></div>
        </dl>
      )}
      <div className="grid">
        <Section title={t(seriesInterval(period) === 'week' ? 'revenueByWeek' : 'revenueByMonth')}>
          <Chart option={charts.trend} label={t(seriesInterval(period) === 'week' ? 'revenueByWeek' : 'revenueByMonth')} />
        </Section>
        <Section title={t('funnel')}>
          <Chart option={charts.funnel} label={t('funnel')} />
          <Table head={[t('stage'), t('entered'), '→ %', t('open')]} rows={funnel.map((s) => [String(s.name), String(s.entered),
            `${Math.round(Number(s.conversion_to_next ?? 0) * 100)}%`, fmt((s.current as Row | undefined)?.amount)])} />
        </Section>
        <Section title={t('managers')}>
          <Chart option={charts.managers} label={t('managers')} />
          <Table head={[t('owner'), t('won'), t('winRate'), t('revenue'), t('weakestStage')]} rows={managers.map((m) => [String(m.name),
            String(m.won), `${Math.round(Number(m.win_rate ?? 0) * 100)}%`, fmt(m.revenue_won),
            String((m.weakest_stage as Row | null)?.name ?? (m.weakest_stage as Row | null)?.stage_name ?? '—')])} />
        </Section>
        <Section title={t('plan')}>
          {mainDone && <PlanPanel period={period} />}
        </Section>
        <Section title={t('stalledDeals')}>
          <Table head={[t('deal'), t('stage'), t('daysColumn')]} rows={stalled.slice(0, 20).map((d) => [String(d.title), String(d.stage_name),
            String(Math.round(Number(d.days_in_stage)))])} />
        </Section>
        <Section title={t('dealCycle')}>
          <Chart option={barOption(items(cycle.data).map((s) => [String(s.name), Number(s.avg_days)]))} label={t('dealCycle')} />
          <p>{t('dealCycle')}: {String(cycle.data?.avg_days ?? '—')} / {t('median')} {String(cycle.data?.median_days ?? '—')}</p>
        </Section>
        <Section title={t('campaigns')}>
          <Table head={[t('name'), 'leads', t('won'), t('revenue'), 'ROI']} rows={items(campaigns.data).map((c) => [String(c.name), String(c.leads),
            String(c.won), fmt(c.won_revenue), c.roi == null ? '—' : `${Math.round(Number(c.roi) * 100)}%`])} />
        </Section>
        <Section title={t('channels')}>
          <Chart option={barOption(items(channels.data).map((c) => [String(c.channel_name ?? c.channel), amount(c.won_revenue)]))} label={t('channels')} />
          <Table head={[t('channelsAdmin'), 'leads', t('won'), 'ROI']} rows={items(channels.data).map((c) => [String(c.channel_name ?? c.channel),
            String(c.leads), String(c.won), c.roi == null ? '—' : `${Math.round(Number(c.roi) * 100)}%`])} />
        </Section>
        <Section title={t('lostReasons')}>
          <Chart option={{ series: [{ type: 'pie', radius: ['40%', '70%'], data: items(lost.data).map((r) => ({ name: String(r.name), value: Number(r.deals) })) }] }} label={t('lostReasons')} />
          <Table head={[t('reason'), t('deals'), t('amount')]} rows={items(lost.data).map((r) => [String(r.name), String(r.deals), fmt(r.amount)])} />
        </Section>
        <Section title={t('segments')}>
          <Table head={[t('segments'), t('won'), t('winRate'), t('revenue')]} rows={items(segments.data).map((s) => [String(s.segment),
            String(s.won), `${Math.round(Number(s.win_rate ?? 0) * 100)}%`, fmt(s.revenue_won)])} />
        </Section>
        <Section title={t('forecast')}>
          <Chart option={barOption(items(forecast.data).map((f) => [String(f.month), amount(f.weighted)]))} label={t('forecast')} />
          <Table head={['month', t('amount'), 'weighted']} rows={items(forecast.data).map((f) => [String(f.month), fmt(f.amount), fmt(f.weighted)])} />
        </Section>
      </div>
    </div>
  )
}

function barOption(points: [string, number][]) {
  return { tooltip: { trigger: 'axis' }, grid: { containLabel: true }, xAxis: { type: 'category', data: points.map((p) => p[0]) },
    yAxis: { type: 'value' }, series: [{ type: 'bar', data: points.map((p) => p[1]) }] }
}

function Table({ head, rows }: { head: string[]; rows: string[][] }) {
  const { t } = useI18n()
  if (!rows.length) return <p className="muted">{t('nothing')}</p>
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={t('table')}>
      <table>
        <thead><tr>{head.map((h) => <th key={h} scope="col">{h}</th>)}</tr></thead>
        <tbody>{rows.map((row, i) => <tr key={i}>{row.map((cell, j) => <td key={j}>{cell}</td>)}</tr>)}</tbody>
      </table>
    </div>
  )
}
