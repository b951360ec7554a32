export { fromBaseUnits, toBaseUnits } from './amounts.js';
export { merchantDid, paymentUri } from './document.js';
export { canonicalProposal, computeIntentHash } from './intent-hash.js';
export {
  createProposalBodySchema,
  DEFAULT_EXPIRES_IN_SECONDS,
  MAX_EXPIRES_IN_SECONDS,
  type CreateProposalBody,
} from './schema.js';
export { proposalService, type CreatedProposal, type ProposalService } from './service.js';
