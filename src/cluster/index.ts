/**
 * Multi-worker mode (WORKERS > 1): one primary process and WORKERS node:cluster workers sharing
 * PORT, each a full node on the shared bus. The banner and the shutdown are shared with the
 * single-process mode.
 */
export { bannerText, type BannerFacts } from './banner.js';
export { runPrimary } from './primary.js';
export { stopOnSignals } from './shutdown.js';
export { runWorker } from './worker.js';
