/** Refusals of a human-in-the-loop operation, each with a stable code the API maps to a status. */
export type PolicyErrorCode = 'not_found' | 'not_pending' | 'expired' | 'not_eligible' | 'four_eyes' | 'already_decided' | 'invalid_answer' | 'invalid_link' | 'link_used' | 'link_expired';

export class PolicyError extends Error {
  constructor(readonly code: PolicyErrorCode, message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}
