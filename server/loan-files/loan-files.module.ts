// Loan files and their parties, contracts, and the outbound webhooks to the LOS.
import type { AuthService } from '../auth/auth.service.js';
import type { Contribution, Infrastructure } from '../infrastructure.js';
import type { ContractRetention } from '../../recordings/contract-retention.service.js';
import { ContractService } from './contracts.service.js';
import { contractUploadRouter } from './contracts.routes.js';
import { LoanFileService } from './loan-files.service.js';
import { LosWebhookService } from './los-webhooks.service.js';

export function loanFilesModule({ config, log, db, store, queues, jobs, events }: Infrastructure, { auth, contractRetention }: { auth: AuthService; contractRetention: ContractRetention }) {
  const loanFiles = new LoanFileService({ db, retentionRules: config.recordings.retention, events });
  const los = new LosWebhookService({ db, queues, settings: config.losWebhook, log });
  const contracts = new ContractService({ db, store, settings: { maxBytes: config.recordings.contractMaxBytes, fetch: config.recordings.contractFetch }, retention: contractRetention });
  jobs.handle('los-webhook', async ({ deliveryId }) => void (await los.deliver(deliveryId)));
  jobs.sweep('los-webhooks', async () => void (await los.sweep()));
  const contribution: Contribution = {
    // Contract uploads carry a raw PDF body; everything else under /api/loan-files passes through.
    rawRouters: [{ path: '/api/loan-files', router: contractUploadRouter(contracts, auth) }],
  };
  return { loanFiles, los, contracts, contribution };
}
