/** The human-in-the-loop records live with the store that keeps them; re-exported for the policy layer's users. */
export type * from '../store/policy-records.js';
