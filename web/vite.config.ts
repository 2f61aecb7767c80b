/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The gateway serves dist/ under a strict CSP (script-src 'self', no inline code): Vite's output is external
// module scripts only. `npm run dev` proxies the API to a running gateway (GLASSBOX_GATEWAY, default :8000).
const gateway = process.env.GLASSBOX_GATEWAY ?? 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [react()],
  build: { target: 'es2022', sourcemap: false, modulePreload: { polyfill: false }, chunkSizeWarningLimit: 700 },
  server: { proxy: { '/api': gateway } },
  // `vite preview` answers as the gateway does: the same strict CSP, the API proxied.
  preview: { proxy: { '/api': gateway }, headers: { 'Content-Security-Policy': "default-src 'self'; img-src 'self' data:" } },
  test: { environment: 'jsdom', setupFiles: ['./src/test/setup.ts'], include: ['src/**/*.test.{ts,tsx}'] },
})
