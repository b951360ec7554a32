import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChainProtocolError } from './errors.js';
import { GraphqlRequestError, httpTransport, postGraphql } from './graphql-client.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** A real HTTP server on port 0 answering with `handler`; counts the connections it accepts. */
async function serve(handler: Handler) {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => handler(request, body, response));
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    connections: () => connections,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const Data = z.object({ value: z.number() });
const never = new AbortController().signal;

describe('GraphQL over node:http', () => {
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const client = (url: string, timeoutMs = 5_000) => ({
    url,
    transport: httpTransport({ timeoutMs }),
  });

  it('posts the query and variables as JSON, and keeps one connection for many requests', async () => {
    const seen: unknown[] = [];
    server = await serve((request, body, response) => {
      seen.push({ type: request.headers['content-type'], body: JSON.parse(body) as unknown });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ data: { value: seen.length } }));
    });
    const options = client(server.url);

    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await postGraphql(options, 'query Q { value }', { n: i }, Data, never));
    }

    expect(answers).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }]);
    expect(seen[2]).toEqual({
      type: 'application/json',
      body: { query: 'query Q { value }', variables: { n: 2 } },
    });
    expect(server.connections()).toBe(1);
  });

  it('fails on an HTTP error status, on GraphQL errors and on an unexpected shape', async () => {
    const answers = [
      [503, { data: null }],
      [200, { errors: [{ message: 'query too complex' }] }],
      [200, { data: { value: 'not a number' } }],
    ] as const;
    let next = 0;
    server = await serve((_request, _body, response) => {
      const [status, body] = answers[next++] ?? [500, {}];
      response.statusCode = status;
      response.end(JSON.stringify(body));
    });
    const options = client(server.url);
    const post = () => postGraphql(options, '{ value }', {}, Data, never);

    await expect(post()).rejects.toThrow('GraphQL endpoint answered HTTP 503');
    await expect(post()).rejects.toThrow(GraphqlRequestError);
    await expect(post()).rejects.toThrow(ChainProtocolError);
  });

  it('gives up on an endpoint that does not answer within the timeout', async () => {
    server = await serve(() => {
      // Never answers.
    });

    await expect(
      postGraphql(client(server.url, 200), '{ value }', {}, Data, never),
    ).rejects.toThrow('timed out after 200 ms');
  });

  it('stops when its signal aborts', async () => {
    server = await serve(() => {
      // Never answers.
    });
    const stop = new AbortController();
    const posting = postGraphql(client(server.url), '{ value }', {}, Data, stop.signal);
    stop.abort();

    await expect(posting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses an answer larger than 16 MB', async () => {
    server = await serve((_request, _body, response) => {
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 17; i++) response.write(chunk);
      response.end();
    });

    await expect(postGraphql(client(server.url), '{ value }', {}, Data, never)).rejects.toThrow(
      'larger than 16 MB',
    );
  });

  it('fails when the answer is cut off', async () => {
    server = await serve((_request, _body, response) => {
      response.setHeader('content-length', '1000');
      response.write('{"data":');
      setImmediate(() => response.socket?.destroy());
    });

    await expect(postGraphql(client(server.url), '{ value }', {}, Data, never)).rejects.toThrow();
  });
});
