import { parseArgs } from 'node:util';
import { CliError, ExitCode, onePositional } from './exit.js';
import { ApiError, callApi, endpointFrom } from './http.js';

/** `pay <txId>`: the sandbox wallet pays the proposal (optionally wrongly, to test anomalies). */
export async function pay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      amount: { type: 'string' },
      merchant: { type: 'string' },
      'coin-type': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const txId = onePositional(positionals, 'pay <txId>');
  const endpoint = endpointFrom({ url: values.url }, process.env);
  const overrides = {
    ...(values.amount === undefined ? {} : { amount: values.amount }),
    ...(values.merchant === undefined ? {} : { merchant: values.merchant }),
    ...(values['coin-type'] === undefined ? {} : { coinType: values['coin-type'] }),
  };
  try {
    const paid = await callApi(endpoint, {
      method: 'POST',
      path: `/sandbox/transactions/${encodeURIComponent(txId)}/pay`,
      ...(Object.keys(overrides).length > 0 ? { body: overrides } : {}),
    });
    console.log(JSON.stringify(paid));
    return ExitCode.Ok;
  } catch (error) {
    // Outside sandbox mode the route does not exist: the 404 is "No route for POST /sandbox/…"
    // rather than "Transaction not found".
    const noRoute = error instanceof ApiError && /^No route/.test(String(error.body?.message));
    if (noRoute) {
      throw new CliError(
        `${error.message}\n${endpoint.baseUrl} is not in sandbox mode: only a sandbox service ` +
          '(SUI_NETWORK=sandbox, the default of npm start) has the pay route',
        ExitCode.NotFound,
      );
    }
    throw error;
  }
}
