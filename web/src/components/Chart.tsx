// Apache ECharts, tree-shaken: only the charts and components the dashboard draws, the SVG renderer.
// ECharts sets element styles through the CSSOM (allowed by the gateway's CSP); it injects no <style> tags.
import { useEffect, useRef, useState } from 'react'
import * as echarts from 'echarts/core'
import { BarChart, FunnelChart, LineChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { SVGRenderer } from 'echarts/renderers'

echarts.use([BarChart, FunnelChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer])

export type ChartOption = echarts.EChartsCoreOption

/** Whether any series has a point: an option without one (its answer still on the way) is not drawn. */
export function hasPoints(option: ChartOption): boolean {
  const series = (option as { series?: { data?: unknown[] }[] }).series ?? []
  return series.some((one) => (one.data?.length ?? 0) > 0)
}

export function Chart({ option, label }: { option: ChartOption; label: string }) {
  const node = useRef<HTMLDivElement>(null)
  const chart = useRef<echarts.ECharts | null>(null)
  const drawn = useRef('')
  // A chart is set up once it comes near the screen: the dashboard's charts below the fold cost nothing (each one
  // set up and drawn is tens of milliseconds of script) until scrolled to.
  const [near, setNear] = useState(typeof IntersectionObserver === 'undefined')
  useEffect(() => {
    if (near || !node.current) return
    const observer = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) setNear(true) },
      { rootMargin: '200px' })
    observer.observe(node.current)
    return () => observer.disconnect()
  }, [near])
  useEffect(() => {
    if (!near || !node.current) return
    chart.current = echarts.init(node.current, undefined, { renderer: 'svg' })
    const resize = () => chart.current?.resize()
    window.addEventListener('resize', resize)
    return () => { window.removeEventListener('resize', resize); chart.current?.dispose(); chart.current = null; drawn.current = '' }
  }, [near])
  // A screen builds its options afresh on every render (each answer arriving is one): the chart is redrawn only
  // when its option really changed, as each redraw rebuilds the tooltip, which forces a layout of the whole page.
  useEffect(() => {
    const text = JSON.stringify(option)
    if (!chart.current || text === drawn.current || (!drawn.current && !hasPoints(option))) return
    drawn.current = text
    chart.current.setOption({ animation: false, tooltip: { trigger: 'item' }, ...option }, true)
  }, [option, near])
  return <div ref={node} className="chart" role="img" aria-label={label} />
}
