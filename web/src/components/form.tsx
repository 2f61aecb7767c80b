// Forms that show the server's validation messages at their fields (ApiError.fieldErrors: webargs' shape or
// the services' own) and its message under the form.
import { useState, type ReactNode } from 'react'
import { ApiError } from '../api/http'

export interface Submit {
  errors: Record<string, string[]>; message: string | null; busy: boolean
  /** Runs a write; true when it succeeded, otherwise its errors are shown. */
  run: (action: () => Promise<unknown>) => Promise<boolean>
  reset: () => void
}

export function useSubmit(): Submit {
  const [errors, setErrors] = useState<Record<string, string[]>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const reset = () => { setErrors({}); setMessage(null) }
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true)
    try {
      await action(); reset(); return true
    } catch (err) {
      if (err instanceof ApiError) { setErrors(err.fieldErrors); setMessage(err.message) } else setMessage(String(err))
      return false
    } finally { setBusy(false) }
  }
  return { errors, message, busy, run, reset }
}

export interface ControlProps { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }

/** A label, a control and the server's messages for it; the control gets the id and ARIA attributes. */
export function Field({ id, label, errors, hideLabel = false, children }: {
  id: string; label: string; errors?: string[]; hideLabel?: boolean; children: (props: ControlProps) => ReactNode
}) {
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? 'visually-hidden' : undefined}>{label}</label>
      {children({ id, 'aria-invalid': !!errors, 'aria-describedby': errors ? `${id}-error` : undefined })}
      {errors && <p id={`${id}-error`} className="field-error">{errors.join(' ')}</p>}
    </div>
  )
}

export function FormMessage({ message }: { message: string | null }) {
  return message ? <p role="alert" className="error">{message}</p> : null
}
