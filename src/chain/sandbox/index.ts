export {
  MAX_PAYMENTS_PER_REQUEST,
  startSandboxChain,
  type SandboxChain,
  type SandboxChainOptions,
} from './server.js';
export { sandboxWalletClient, type SandboxWallet } from './wallet.js';
export {
  IntentAlreadySettledError,
  SandboxInputError,
  type PaymentReceipt,
  type SandboxPayment,
} from './payment.js';
