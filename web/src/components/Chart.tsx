// Apache ECharts, tree-shaken: only the charts and components the dashboard draws, the SVG renderer.
// ECharts sets element styles through the CSSOM (allowed by the gateway's CSP); it injects no <style> tags.
import { useEffect, useRef } from 'react'
import * as echarts from 'echarts/core'
import { BarChart, FunnelChart, LineChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { SVGRenderer } from 'echarts/renderers'

echarts.use([BarChart, FunnelChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer])

export type ChartOption = echarts.EChartsCoreOption

export function Chart({ option, label }: { option: ChartOption; label: string }) {
  const node = useRef<HTMLDivElement>(null)
  const chart = useRef<echarts.ECharts | null>(null)
  useEffect(() => {
    if (!node.current) return
    chart.current = echarts.init(node.current, undefined, { renderer: 'svg' })
    const resize = () => chart.current?.resize()
    window.addEventListener('resize', resize)
    return () => { window.removeEventListener('resize', resize); chart.current?.dispose(); chart.current = null }
  }, [])
  // A screen builds its options afresh on every render (each answer arriving is one): the chart is redrawn only
  // when its option really changed, as each redraw rebuilds the tooltip, which forces a layout of the whole page.
  const drawn = useRef('')
  useEffect(() => {
    const text = JSON.stringify(option)
    if (!chart.current || text === drawn.current) return
    drawn.current = text
    chart.current.setOption({ animation: false, tooltip: { trigger: 'item' }, ...option }, true)
  }, [option])
  return <div ref={node} className="chart" role="img" aria-label={label} />
}
