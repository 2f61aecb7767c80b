export type Role = 'admin' | 'head_of_sales' | 'manager' | 'marketer' | 'accountant' | 'service'
export interface Page<T> { items: T[]; next_cursor: string | null; total: number; total_is_estimate: boolean }
export interface Money { amount: string; currency: string }
export interface Me { id: string; email: string; full_name: string; name: string; role: Role; team_id: string | null }
export interface User { id: string; email: string; full_name: string; role: Role; team_id: string | null; is_active: boolean }
export interface Team { id: string; name: string }
export interface Stage {
  id: string; name: string; position: number; probability: number; sla_days: number | null
  responsible_role: Role | null; is_active: boolean
  /** What a deal must have to enter the stage: fields (REQUIRABLE_FIELDS) and activity types completed on it. */
  required_fields?: RequirableField[]; required_activities?: string[]
}
export const REQUIRABLE_FIELDS = ['amount', 'expected_close_on', 'campaign_id'] as const
export type RequirableField = typeof REQUIRABLE_FIELDS[number]
export type HandOffState = 'open' | 'taken' | 'done' | 'cancelled'
/** The hand-off of a deal's current stay in its stage, as the deal and board cards show it. */
export interface DealHandOff { id: string; state: HandOffState; role: Role; taken_by: string | null; due_at: string | null; overdue: boolean }
/** A stage's work for its responsible role (GET /hand-offs). */
export interface HandOff extends DealHandOff {
  deal_id: string; deal_title: string; client_id: string; client_name: string | null; owner_id: string
  stage_id: string; stage_name: string; entered_at: string; taken_at: string | null; completed_at: string | null
  comment: string | null; cancelled_at: string | null; cancel_reason: string | null
}
export interface Pipeline { id: string; name: string; is_default: boolean; stages: Stage[] }
export interface BoardColumn { stage: Stage; count: number; amounts: Money[]; stalled: number; hand_offs?: number }
export interface Board {
  pipeline_id: string; name: string; owner_id: string | null; columns: BoardColumn[]
  won: { count: number; amounts: Money[] }[] | { count: number; amounts: Money[] }
  lost: unknown; closed_from: string
}
export interface Deal {
  id: string; title: string; amount: Money; client_id: string; client_name: string | null; owner_id: string
  pipeline_id: string; stage_id: string; stage_name: string; stage_entered_at: string; stage_probability: number
  status: 'open' | 'won' | 'lost'; stalled: boolean; past_due: boolean; expected_close_on: string | null; campaign_id?: string | null
  lost_reason_name: string | null; lost_comment: string | null; closed_at: string | null; version: number
  created_at: string; updated_at: string; hand_off?: DealHandOff | null
}
export interface LostReason { id: string; name: string; is_active: boolean }
export interface Client {
  id: string; name: string; kind: 'company' | 'person'; owner_id: string; email: string | null; phone: string | null
  tax_id?: string | null; industry: string | null; region: string | null; rating: string | null; status?: string
  address: string | null; notes: string | null; created_at: string
}
export interface Contact { id: string; full_name?: string; name?: string; email: string | null; phone: string | null; position?: string | null }
export interface Activity {
  id: string; type: string; subject: string; status: 'planned' | 'done' | 'cancelled'; due_at: string | null
  overdue: boolean; client_id: string; deal_id: string | null; outcome: string | null; completed_at: string | null
}
export interface ImportJob {
  id: string; status: 'queued' | 'running' | 'done' | 'failed'; total_rows: number; processed_rows: number
  created: number; failed_rows: number; skipped_duplicates: number; error: string | null
  errors: { line: number; kind: string; errors: Record<string, unknown> }[]; errors_omitted: number
}

// The field-level change history (GET /clients/{id}/history, GET /deals/{id}/history?changes=true).
export interface FieldChange { field: string; old: unknown; new: unknown }
export interface ChangeEntry {
  record_type: string; record_id: string; action: 'created' | 'updated' | 'deleted'; changes: FieldChange[]
  actor_id: string | null; request_id: string | null; at: string
}
