import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { faultRequestFromJson } from './faults.js';
import { startSandboxChain, type SandboxChain } from './index.js';

const chains: SandboxChain[] = [];
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.stop();
});

async function chainFor(faults: boolean): Promise<SandboxChain> {
  const chain = await startSandboxChain({ checkpointIntervalMs: 20, faults });
  chains.push(chain);
  return chain;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const tipQuery = (chain: SandboxChain) =>
  post(chain.graphqlUrl, { query: '{ chainIdentifier }' }).then((answer) => answer.status);
const injectFault = (chain: SandboxChain, mode: string, durationMs?: number) =>
  post(`${chain.url}/sandbox/faults`, { mode, durationMs });
const faultState = async (chain: SandboxChain) =>
  (await (await fetch(`${chain.url}/sandbox/faults`)).json()) as { mode: string; held: number };

describe('sandbox chain fault injection', () => {
  it('is not served unless the chain was started with faults', async () => {
    const chain = await chainFor(false);
    expect((await injectFault(chain, 'error', 60_000)).status).toBe(404);
    expect(await tipQuery(chain)).toBe(200);
  });

  it('answers GraphQL with 500 during an error window, and normally once it is cleared', async () => {
    const chain = await chainFor(true);
    const injected = await injectFault(chain, 'error', 60_000);
    expect(injected).toMatchObject({ status: 200, body: { mode: 'error', held: 0 } });
    expect(await tipQuery(chain)).toBe(500);
    expect((await post(`${chain.url}/sandbox/pay`, {})).status).toBe(400); // payments unaffected

    await injectFault(chain, 'none');
    expect(await tipQuery(chain)).toBe(200);
  });

  it('ends a window on its own when its duration has passed', async () => {
    const chain = await chainFor(true);
    await injectFault(chain, 'error', 50);
    await waitFor(async () => (await tipQuery(chain)) === 200, 'the window to end', 5_000, 20);
    expect((await faultState(chain)).mode).toBe('none');
  });

  it('holds GraphQL requests during a stall and serves them when it ends', async () => {
    const chain = await chainFor(true);
    await injectFault(chain, 'stall', 60_000);
    const held = tipQuery(chain);
    await waitFor(async () => (await faultState(chain)).held === 1, 'the request to be held');

    await injectFault(chain, 'none');
    expect(await held).toBe(200);
  });

  it('releases held requests when the chain stops', async () => {
    const chain = await chainFor(true);
    await injectFault(chain, 'stall', 60_000);
    const held = tipQuery(chain).catch(() => 'closed');
    await waitFor(async () => (await faultState(chain)).held === 1, 'the request to be held');
    await chain.stop();
    expect([200, 'closed']).toContain(await held);
  });

  it('rejects malformed fault requests', async () => {
    const chain = await chainFor(true);
    expect((await injectFault(chain, 'explode', 10)).status).toBe(400);
    expect((await injectFault(chain, 'stall', 0)).status).toBe(400);
    expect(faultRequestFromJson({ mode: 'stall', durationMs: 1.5 })).toMatch(/integer/);
    expect(faultRequestFromJson({ mode: 'error', durationMs: 600_001 })).toMatch(/at most/);
    expect(faultRequestFromJson(null)).toMatch(/object/);
    expect(faultRequestFromJson({ mode: 'error', durationMs: 10 })).toEqual({
      mode: 'error',
      durationMs: 10,
    });
  });
});
