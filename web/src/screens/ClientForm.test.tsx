import { afterEach, expect, it, vi } from 'vitest'
import { fireEvent, screen } from '@testing-library/react'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { ClientForm } from './ClientForm'

afterEach(() => vi.unstubAllGlobals())

it('shows the server validation messages at their fields and saves nothing', async () => {
  const { seen } = fakeGateway({
    'POST /api/v1/clients': () => ({ status: 422, body: { code: 422, message: 'the request body or parameters are invalid',
      errors: { json: { tax_id: ['Not a valid tax ID.'], email: ['Not a valid email address.'] } } } }),
  })
  const saved = vi.fn()
  renderScreen(<ClientForm onSaved={saved} />)
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Acme' } })
  fireEvent.change(screen.getByLabelText('Tax ID'), { target: { value: '123' } })
  fireEvent.click(screen.getByRole('button', { name: 'Save' }))
  expect(await screen.findByText('Not a valid tax ID.')).toBeInTheDocument()
  expect(screen.getByLabelText('Tax ID')).toHaveAttribute('aria-invalid', 'true')
  expect(screen.getByLabelText('E-mail')).toHaveAccessibleDescription('Not a valid email address.')
  expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'false')
  expect(saved).not.toHaveBeenCalled()
  expect(seen[0].body).toEqual({ kind: 'company', name: 'Acme', tax_id: '123' })
})

it('hands the saved client back', async () => {
  fakeGateway({ 'POST /api/v1/clients': () => ({ status: 201, body: { id: 'c1', name: 'Acme' } }) })
  const saved = vi.fn()
  renderScreen(<ClientForm onSaved={saved} />)
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Acme' } })
  fireEvent.click(screen.getByRole('button', { name: 'Save' }))
  await vi.waitFor(() => expect(saved).toHaveBeenCalledWith({ id: 'c1', name: 'Acme' }))
})
