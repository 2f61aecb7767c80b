import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import type { Contact } from '../api/types'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { contactBody, Contacts } from './Contacts'

const anna: Contact = { id: 'k1', full_name: 'Anna Petrova', position: 'CFO', email: 'anna@acme.test', phone: null }

afterEach(() => vi.unstubAllGlobals())

it('leaves empty fields out of a new contact and clears emptied ones of an edited one', () => {
  expect(contactBody({ full_name: ' Anna ', position: '', email: 'a@b.test', phone: '' }, false))
    .toEqual({ full_name: 'Anna', email: 'a@b.test' })
  expect(contactBody({ full_name: 'Anna', position: '', email: 'a@b.test', phone: '' }, true))
    .toEqual({ full_name: 'Anna', position: null, email: 'a@b.test', phone: null })
})

describe('the contacts of a client card', () => {
  it('adds a contact, showing a refused field at the field first', async () => {
    let calls = 0
    const { seen } = fakeGateway({ 'POST /api/v1/clients/c1/contacts': () => (++calls === 1
      ? { status: 422, body: { message: 'invalid', errors: { json: { email: ['Not a valid email address.'] } } } }
      : { status: 201, body: { id: 'k2' } }) })
    const onChanged = vi.fn()
    renderScreen(<Contacts clientId="c1" contacts={[anna]} canWrite onChanged={onChanged} />)
    fireEvent.click(screen.getByRole('button', { name: 'Add a contact' }))
    const form = screen.getByRole('form', { name: 'Add a contact' })
    fireEvent.change(within(form).getByLabelText('Name'), { target: { value: 'Ivan' } })
    fireEvent.change(within(form).getByLabelText('E-mail'), { target: { value: 'ivan@' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }))
    expect(await within(form).findByText('Not a valid email address.')).toBeInTheDocument()
    expect(onChanged).not.toHaveBeenCalled()
    fireEvent.change(within(form).getByLabelText('E-mail'), { target: { value: 'ivan@acme.test' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(onChanged).toHaveBeenCalledOnce())
    expect(seen[1].body).toEqual({ full_name: 'Ivan', email: 'ivan@acme.test' })
    expect(screen.queryByRole('form', { name: 'Add a contact' })).not.toBeInTheDocument()
  })

  it('edits a contact with PATCH and removes one after asking', async () => {
    const { seen } = fakeGateway({ 'PATCH /api/v1/contacts/k1': () => ({ body: anna }),
      'DELETE /api/v1/contacts/k1': () => ({ status: 204 }) })
    vi.stubGlobal('confirm', vi.fn(() => true))
    const onChanged = vi.fn()
    renderScreen(<Contacts clientId="c1" contacts={[anna]} canWrite onChanged={onChanged} />)
    fireEvent.click(screen.getByRole('button', { name: 'Edit: Anna Petrova' }))
    fireEvent.change(screen.getByLabelText('Position'), { target: { value: 'CEO' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(onChanged).toHaveBeenCalledTimes(1))
    expect(seen[0]).toMatchObject({ method: 'PATCH', body: { full_name: 'Anna Petrova', position: 'CEO', email: 'anna@acme.test', phone: null } })
    fireEvent.click(screen.getByRole('button', { name: 'Remove: Anna Petrova' }))
    await waitFor(() => expect(onChanged).toHaveBeenCalledTimes(2))
    expect(seen[1]).toMatchObject({ method: 'DELETE', path: '/api/v1/contacts/k1' })
  })

  it('offers no changes to a role that only reads', () => {
    fakeGateway({})
    renderScreen(<Contacts clientId="c1" contacts={[anna]} canWrite={false} onChanged={vi.fn()} />)
    expect(screen.getByText(/Anna Petrova/)).toBeInTheDocument()
    expect(screen.queryByRole('button')).not.toBeInTheDocument()
  })
})
